// BRK-2041 rev C -- L-shaped mounting bracket, PETG, fused filament fabrication.
// All dimensions in millimetres. Print orientation = model orientation:
// base flange on the build plate, upright flange vertical, gussets at the edges.
//
//   openscad -o bracket.stl bracket.scad      (see ../regenerate.sh)
//
// Coordinates: X across the width, Y along the base flange (upright at Y = 0),
// Z up. The outer face of the upright is the plane Y = 0, the underside of
// the base is the plane Z = 0.

/* [Envelope] */
width          = 40;    // bracket width (X)
base_length    = 50;    // base flange length from the outer face of the upright (Y)
height         = 40;    // overall height from the underside of the base (Z)
thickness      = 5;     // wall thickness of both flanges

/* [Stiffening] */
fillet_r       = 5;     // inner fillet radius where the flanges meet
gusset_t       = 4;     // gusset (rib) thickness, one gusset at each edge
gusset_leg     = 24;    // gusset leg length along each flange, from the inner faces
edge_r         = 1;     // radius of the outer corner (heel) of the L

/* [Holes] */
hole_d         = 5.5;   // M5 clearance hole, ISO 273 medium series (H13)
base_hole_y    = 30;    // base hole centre, distance from the upright's outer face
upright_hole_z = 24;    // upright hole centre, height above the underside of the base

/* [Marking] */
label_w        = 32;    // label recess size along X, on the top face of the base flange
label_l        = 10;    // label recess size along Y
label_depth    = 0.4;   // label recess depth = two 0.2 mm layers
label_y        = 43;    // label recess centre, between the base hole's washer and the free end

$fn = 64;
eps = 0.01;

// 2D profile of the L in the Y-Z plane: both flanges, the inner fillet and
// the rounded heel.
module l_profile() {
    difference() {
        union() {
            square([base_length, thickness]);                 // base flange
            square([thickness, height]);                      // upright flange
            translate([thickness, thickness]) square(fillet_r); // fillet stock
        }
        translate([thickness + fillet_r, thickness + fillet_r]) circle(r = fillet_r);
        difference() {                                        // heel rounding
            translate([-eps, -eps]) square(edge_r + eps);
            translate([edge_r, edge_r]) circle(r = edge_r);
        }
    }
}

// Triangular gusset in the Y-Z plane, in the inside corner; the polygon runs
// down into both flanges so that the union has no coincident faces.
module gusset_profile() {
    polygon([[thickness / 2, thickness / 2],
             [thickness + gusset_leg, thickness / 2],
             [thickness + gusset_leg, thickness],
             [thickness, thickness + gusset_leg],
             [thickness / 2, thickness + gusset_leg]]);
}

module bracket() {
    difference() {
        union() {
            // extrude the profile along X: rotate so profile (u,v) -> (Y,Z)
            rotate([90, 0, 90]) linear_extrude(height = width) l_profile();
            for (x = [0, width - gusset_t])
                translate([x, 0, 0])
                    rotate([90, 0, 90]) linear_extrude(height = gusset_t) gusset_profile();
        }
        // M5 clearance hole through the base flange (vertical axis)
        translate([width / 2, base_hole_y, -1])
            cylinder(d = hole_d, h = thickness + 2);
        // M5 clearance hole through the upright flange (horizontal axis, Y)
        translate([width / 2, -1, upright_hole_z])
            rotate([-90, 0, 0]) cylinder(d = hole_d, h = thickness + 2);
        // label recess on the top face of the base flange (serial number label)
        translate([(width - label_w) / 2, label_y - label_l / 2, thickness - label_depth])
            cube([label_w, label_l, label_depth + 1]);
    }
}

bracket();
