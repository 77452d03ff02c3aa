#include "import.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/util/encoding.hpp"
#include "git.hpp"

namespace dvi {

std::string to_string(ChainStatus s) {
    switch (s) {
        case ChainStatus::new_chain: return "new";
        case ChainStatus::advanced: return "advanced";
        case ChainStatus::up_to_date: return "up-to-date";
        case ChainStatus::behind: return "behind";
        case ChainStatus::partial: return "partial";
        case ChainStatus::refused: return "refused";
        case ChainStatus::fork: return "fork";
    }
    return "?";
}

namespace detail {

namespace fs = std::filesystem;

namespace {
using git::parse_oid;
}  // namespace

// ---------------------------------------------------------------------------------
// Quarantine

Quarantine::Quarantine(fs::path dir, Ledger l) : m_dir(std::move(dir)), m_ledger(std::move(l)) {}

Quarantine::Quarantine(Quarantine&& o) noexcept : m_dir(std::move(o.m_dir)), m_ledger(std::move(o.m_ledger)) {
    o.m_dir.clear();
    o.m_ledger.reset();
}

Quarantine::~Quarantine() {
    m_ledger.reset();
    if (!m_dir.empty()) {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
}

Result<Quarantine> Quarantine::create(const Ledger& main) {
    fs::path base = main.path() / "dvi" / "incoming";
    std::error_code ec;
    fs::create_directories(base, ec);
    git::remove_stale_stores(base);  // a quarantine left by an import that died
    DVI_TRY(name, git::store_name());
    fs::path dir = base / name;
    struct Cleanup {
        fs::path dir;
        bool armed = true;
        ~Cleanup() {
            std::error_code e;
            if (armed) fs::remove_all(dir, e);
        }
    } cleanup{dir};
    {
        DVI_TRY(created, Ledger::create(dir));
    }
    DVI_CHECK(util::write_file_atomic(dir / "objects" / "info" / "alternates", (main.path() / "objects").string() + "\n",
                                      util::FileMode::public_0644, util::Overwrite::yes));
    DVI_TRY(q, Ledger::open(dir));
    DVI_TRY(genesis, main.config_get("dvi.genesis"));
    if (genesis) DVI_CHECK(q.config_set("dvi.genesis", *genesis));
    // Our heads, so that a fetch tells the other side what we already have.
    DVI_TRY(heads, main.chains());
    for (auto& h : heads) {
        DVI_TRY(oid, parse_oid(h.commit));
        git_reference* r = nullptr;
        DVI_CHECK(git::check(git_reference_create(&r, repo_of(q), h.writer.ref().c_str(), &oid, 1, nullptr),
                             "cannot prepare the quarantine"));
        git_reference_free(r);
    }
    cleanup.armed = false;
    return Quarantine(dir, std::move(q));
}

Status Quarantine::migrate(const Ledger& main) {
    return git::migrate_objects(m_dir / "objects", main.path() / "objects");
}

Result<util::FileLock> lock_imports(const Ledger& ledger) {
    auto lock = util::FileLock::acquire(ledger.path() / "dvi" / "locks" / "import.lock", std::chrono::minutes(10));
    if (!lock && lock.error().code == Errc::conflict)
        return make_error(Errc::conflict, "another sync has been importing into this ledger for ten minutes",
                          "check for a stuck 'dvi sync' process");
    return lock;
}

// ---------------------------------------------------------------------------------
// Judging offers

namespace {

struct Plan {
    ChainSync sync;
    std::optional<ChainHead> base;    // our head
    std::vector<std::string> fresh;   // commits to verify, oldest first
    std::int64_t first_seq = 0;       // position of fresh[0]
    std::size_t good = 0;             // leading commits of fresh that verify
    std::string problem;              // why fresh[good] does not
    bool excluded = false;            // its roster could not be trusted
    bool extends() const {
        return sync.status == ChainStatus::new_chain || sync.status == ChainStatus::advanced;
    }
};

constexpr std::size_t k_max_chain = std::size_t{1} << 26;

// First parents from `tip` back to `stop` (excluded) or the root, oldest first; the bool
// says whether `stop` was met.
Result<std::pair<std::vector<std::string>, bool>> walk_back(git_repository* repo, const std::string& tip,
                                                            const std::optional<std::string>& stop) {
    std::vector<std::string> out;
    DVI_TRY(cur, parse_oid(tip));
    bool met = false;
    while (true) {
        std::string hex = git::oid_hex(cur);
        if (stop && hex == *stop) {
            met = true;
            break;
        }
        if (out.size() >= k_max_chain) return make_error(Errc::invalid_input, "a chain longer than any dvi writes");
        out.push_back(hex);
        DVI_TRY(commit, git::lookup_commit(repo, cur, "missing commit " + hex));
        if (git_commit_parentcount(commit.get()) == 0) break;
        cur = *git_commit_parent_id(commit.get(), 0);
    }
    std::reverse(out.begin(), out.end());
    return std::make_pair(std::move(out), met);
}

// The checks of one commit at position `seq` of `w`'s chain: empty when it verifies,
// else the first problem.
Result<std::string> check_one(const Ledger& q, const Roster& roster, const WriterId& w, std::int64_t seq,
                              const std::string& c, const crypto::PublicKey& key, const std::string& fingerprint) {
    DVI_TRY(check, q.check_commit(c, key));
    std::vector<std::string> problems = check.problems;
    // The schema first: the checks after it read fields whose types it guarantees.
    if (check.record) {
        if (auto v = validate_record(check.record->json); !v) problems.push_back(v.error().message);
    }
    if (check.record && problems.empty()) {
        const StoredRecord& rec = *check.record;
        check_placement(rec.json, w, seq, problems);
        const Json& issuer = rec.json.contains("issuer") ? rec.json["issuer"] : Json::object();
        if (issuer.is_object() && issuer.value("key", "") != fingerprint)
            problems.push_back("record names key " + issuer.value("key", "?") + ", not the writer's " + fingerprint);
        auto head = q.head_at(w, c);
        if (!head) problems.push_back(head.error().message);
        else if (head->seq != seq || head->record_id != rec.id)
            problems.push_back("its chain.json says position " + std::to_string(head->seq) + " and record " +
                               head->record_id);
        else if (std::string seen = rec.json.value("seen", Json()).is_string() ? rec.json.value("seen", "") : "";
                 head->anchor != seen && !(rec.type == "anchor" && head->anchor == rec.id))
            problems.push_back("its chain.json names anchor '" + head->anchor + "', which its record has not seen");
        if (auto m = roster.may_have_written(w, rec.type, seq); !m) problems.push_back(m.error().message);
    }
    if (problems.empty()) return std::string();
    return "commit " + c + " at position " + std::to_string(seq) + ": " + problems.front();
}

// Verifies plan.fresh against `roster`: p.good becomes the number of leading commits
// that verify. Long chains are checked on several threads, each with its own handle of
// the repository (`reopen`), since libgit2 handles are not shared between threads.
Status verify_plan(const Ledger& q, const std::function<Result<Ledger>()>& reopen, const Roster& roster, Plan& p,
                   std::uint64_t& done, std::uint64_t total, const ProgressFn& progress) {
    p.good = 0;
    p.problem.clear();
    const WriterId& w = p.sync.writer;
    auto key = roster.key_of(w);
    if (!key) {
        p.problem = key.error().message;
        return {};
    }
    std::string fingerprint = key->fingerprint();
    const std::size_t n = p.fresh.size();
    std::vector<std::string> problems(n);
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> first_bad{n};  // no commit after a bad one needs checking
    std::atomic<std::uint64_t> checked{0};
    auto work = [&](const Ledger& l, bool reports) -> Status {
        for (std::size_t i = next++; i < n && i < first_bad.load(); i = next++) {
            DVI_TRY(problem, check_one(l, roster, w, p.first_seq + static_cast<std::int64_t>(i), p.fresh[i], *key,
                                       fingerprint));
            if (!problem.empty()) {
                problems[i] = std::move(problem);
                std::size_t cur = first_bad.load();
                while (i < cur && !first_bad.compare_exchange_weak(cur, i)) {
                }
            }
            auto c = ++checked;
            if (reports && progress && (c % 256 == 0 || done + c == total)) progress("verifying", done + c, total);
        }
        return {};
    };
    unsigned threads = n >= 64 ? std::clamp(std::thread::hardware_concurrency(), 1u, 8u) : 1u;
    std::vector<Status> results(threads);
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back([&, t] {
            // An exception must not escape a thread (it would end the process).
            try {
                auto l = reopen();
                results[t] = l ? work(*l, false) : Status(l.error());
            } catch (const std::exception& e) {
                results[t] = make_error(Errc::internal, std::string("internal error while verifying: ") + e.what());
                first_bad = 0;  // the other threads stop early
            }
        });
    results[0] = work(q, true);
    for (auto& th : pool) th.join();
    for (auto& r : results) DVI_CHECK(r);
    p.good = std::min(first_bad.load(), n);
    if (p.good < n) p.problem = problems[p.good];
    done += p.good;
    return {};
}

Result<Roster> roster_of(Ledger& q, const std::map<WriterId, ChainHead>& heads) {
    std::vector<ChainHead> v;
    for (auto& [_, h] : heads) v.push_back(h);
    q.set_view(std::move(v));
    return roster_load(q);
}

// Our heads plus, for every chain an offer extends, the head it would have: the whole
// offer (`prefix` false) or its verified part.
Result<std::map<WriterId, ChainHead>> view_of(const Ledger& q, const std::map<WriterId, ChainHead>& local,
                                              const std::vector<Plan>& plans, bool prefix) {
    auto heads = local;
    for (auto& p : plans) {
        if (!p.extends() || p.excluded || p.fresh.empty()) continue;
        std::size_t n = prefix ? p.good : p.fresh.size();
        if (n == 0) continue;
        auto h = q.head_at(p.sync.writer, p.fresh[n - 1]);
        if (h) heads[p.sync.writer] = *h;
    }
    return heads;
}

}  // namespace

Result<ImportOutcome> import_offers(Ledger& main, Ledger& q, const std::vector<Offer>& offers, ImportMode mode,
                                    const ProgressFn& progress, const std::function<Status()>& before_refs) {
    git_repository* qrepo = repo_of(q);
    // More handles on what `q` sees, for verifying threads: inside a receive hook, git's
    // environment (its quarantine); else the quarantine repository itself.
    std::function<Result<Ledger>()> reopen = [&]() -> Result<Ledger> {
        if (mode == ImportMode::verify_only) return Ledger::open_from_git_environment();
        return Ledger::open(q.path());
    };
    std::map<WriterId, ChainHead> local;
    {
        DVI_TRY(list, main.chains());
        for (auto& h : list) local[h.writer] = h;
    }

    // 1. Where each offer stands against our chain.
    std::vector<Plan> plans;
    std::uint64_t total = 0;
    for (auto& offer : offers) {
        Plan p;
        p.sync.writer = offer.writer;
        p.sync.offered = offer.commit;
        p.sync.to = offer.commit;
        if (auto it = local.find(offer.writer); it != local.end()) {
            p.base = it->second;
            p.sync.from = it->second.commit;
            p.sync.from_seq = it->second.seq;
            p.sync.to_seq = it->second.seq;
        }
        DVI_TRY(offered, parse_oid(offer.commit));
        const std::string missing = "commit " + offer.commit + " was not received";
        if (auto probe = git::lookup_commit(qrepo, offered, missing); !probe) {
            git_error_clear();
            p.sync.status = ChainStatus::refused;
            // A commit bomb is named, and an object that is not a commit; anything else
            // was not received.
            p.sync.reason = probe.error().code == Errc::bad_signature ? probe.error().message : missing;
            if (auto type = git::object_type(qrepo, offered); type != GIT_OBJECT_INVALID && type != GIT_OBJECT_COMMIT)
                p.sync.reason = "the chain's ref names a " + std::string(git_object_type2string(type)) + ", " +
                                offer.commit + ", not a commit";
            plans.push_back(std::move(p));
            continue;
        }
        if (p.base && p.base->commit == offer.commit) {
            p.sync.status = ChainStatus::up_to_date;
            plans.push_back(std::move(p));
            continue;
        }
        if (p.base) {
            DVI_TRY(ours, parse_oid(p.base->commit));
            int rc = git_graph_descendant_of(qrepo, &ours, &offered);
            if (rc < 0) return git::error(rc, "cannot compare chain '" + offer.writer.str() + "'");
            if (rc == 1) {
                p.sync.status = ChainStatus::behind;
                p.sync.to = p.base->commit;
                plans.push_back(std::move(p));
                continue;
            }
        }
        auto walked = walk_back(qrepo, offer.commit, p.base ? std::optional(p.base->commit) : std::nullopt);
        if (!walked) {
            p.sync.status = ChainStatus::refused;
            p.sync.reason = walked.error().message;
            plans.push_back(std::move(p));
            continue;
        }
        auto& [commits, met] = *walked;
        if (p.base && !met) {
            // Diverged: find the first position where the two chains differ.
            DVI_TRY(ours, walk_back(qrepo, p.base->commit, std::nullopt));
            std::size_t i = 0;
            while (i < ours.first.size() && i < commits.size() && ours.first[i] == commits[i]) ++i;
            p.sync.status = ChainStatus::fork;
            p.sync.fork_seq = static_cast<std::int64_t>(i) + 1;
            p.sync.fork_ours = i < ours.first.size() ? ours.first[i] : "";
            p.sync.fork_theirs = i < commits.size() ? commits[i] : "";
            // Our genesis chain, from another first record: not an equivocation but another
            // consortium's ledger (a key can serve two), which is refused as such.
            if (i == 0 && !commits.empty() && !ours.first.empty()) {
                DVI_TRY(pinned, main.config_get("dvi.genesis"));
                auto first_id = [&](const std::string& hex) -> std::optional<std::string> {
                    auto oid = parse_oid(hex);
                    auto raw = oid ? git::read_commit(qrepo, *oid) : Result<git::RawCommit>(oid.error());
                    return raw ? commit_record_id(raw->message.c_str()) : std::nullopt;
                };
                const auto mine = first_id(ours.first[0]);
                const auto theirs = first_id(commits[0]);
                if (pinned && mine == *pinned && theirs && *theirs != *pinned) {
                    p.sync.status = ChainStatus::refused;
                    p.sync.reason = "it is another consortium's: its first record is " + *theirs +
                                    ", not this ledger's genesis " + *pinned;
                    plans.push_back(std::move(p));
                    continue;
                }
            }
            p.fresh.assign(commits.begin() + static_cast<std::ptrdiff_t>(i), commits.end());
            p.first_seq = p.sync.fork_seq;
        } else {
            p.sync.status = p.base ? ChainStatus::advanced : ChainStatus::new_chain;
            p.fresh = std::move(commits);
            p.first_seq = (p.base ? p.base->seq : 0) + 1;
        }
        total += p.fresh.size();
        plans.push_back(std::move(p));
    }

    // 2. The roster the offers lead to, and every new commit against it. Fewer accepted
    //    commits can only mean a smaller roster, so this settles in a few rounds.
    std::uint64_t done = 0;
    std::optional<Json> judged_with;
    std::optional<Error> first_roster_error;
    bool anything_new = std::any_of(plans.begin(), plans.end(), [](auto& p) { return !p.fresh.empty(); });
    for (int round = 0; anything_new; ++round) {
        if (round > static_cast<int>(plans.size()) + 3) return make_error(Errc::internal, "sync verification does not settle");
        DVI_TRY(view, view_of(q, local, plans, round > 0));
        auto roster = roster_of(q, view);
        if (!roster) {
            if (roster.error().code != Errc::bad_signature && roster.error().code != Errc::not_found) return roster.error();
            if (!first_roster_error) first_roster_error = roster.error();
            // An offered roster that does not verify: keep the chains that carry it out.
            bool excluded_any = false;
            for (auto& p : plans) {
                if (!p.extends() || p.excluded || p.fresh.empty()) continue;
                DVI_TRY(theirs, q.read_file_at(p.fresh.back(), "roster.json"));
                std::optional<std::string> ours;
                if (p.base) {
                    DVI_TRY(o, q.read_file_at(p.base->commit, "roster.json"));
                    ours = o;
                }
                if (theirs && theirs != ours) {
                    p.excluded = true;
                    p.good = 0;
                    p.problem = "the roster it carries does not verify: " + roster.error().message;
                    excluded_any = true;
                }
            }
            if (excluded_any) continue;
            auto e = *first_roster_error;
            if (local.empty()) {
                // A ledger being started from it: the roster's chain is missing, or bad.
                e.message = "what was received holds no roster that verifies: " + e.message;
                e.hint = "ask for every chain of the ledger, the roster's included (a bundle made without --since)";
            }
            return e;
        }
        if (judged_with && roster->state() == *judged_with) break;
        judged_with = roster->state();
        done = 0;
        for (auto& p : plans)
            if (!p.excluded && !p.fresh.empty()) DVI_CHECK(verify_plan(q, reopen, *roster, p, done, total, progress));
    }

    // 3. What each chain comes to.
    ImportOutcome out;
    // A chain that takes nothing stays where it was: `to` is our head (none for a chain we
    // do not hold), the refused or forked one is `offered`.
    auto stays = [](ChainSync& s) {
        s.to = s.from.value_or("");
        s.to_seq = s.from_seq;
    };
    for (auto& p : plans) {
        ChainSync& s = p.sync;
        if (p.fresh.empty()) {
            if (s.status == ChainStatus::refused) {
                ++out.refused;
                stays(s);
            }
            out.chains.push_back(s);
            continue;
        }
        if (s.status == ChainStatus::fork) {
            if (p.good == 0) {
                s.status = ChainStatus::refused;
                s.reason = "it diverges from ours at position " + std::to_string(s.fork_seq) + " with a commit that does not verify: " + p.problem;
                ++out.refused;
            } else {
                s.reason = "two different commits signed by '" + s.writer.str() + "' at position " +
                           std::to_string(s.fork_seq) + ": ours " + s.fork_ours + ", theirs " + s.fork_theirs;
                ++out.forks;
            }
            stays(s);
            out.chains.push_back(s);
            continue;
        }
        if (p.good > 0) {
            s.to = p.fresh[p.good - 1];
            s.to_seq = p.first_seq + static_cast<std::int64_t>(p.good) - 1;
            s.records = static_cast<std::int64_t>(p.good);
            out.records += s.records;
        }
        if (p.good < p.fresh.size()) {
            s.reason = p.problem;
            s.status = p.good > 0 ? ChainStatus::partial : ChainStatus::refused;
            if (p.good == 0) stays(s);
            ++out.refused;
        } else {
            ++out.advanced;
        }
        out.chains.push_back(s);
    }
    std::sort(out.chains.begin(), out.chains.end(), [](auto& a, auto& b) { return a.writer < b.writer; });
    if (mode == ImportMode::verify_only) return out;

    // 4. Objects first, durable, then the refs by compare-and-swap.
    bool anything = out.forks > 0 || std::any_of(out.chains.begin(), out.chains.end(), [](auto& c) { return c.records > 0; });
    if (!anything) return out;
    if (before_refs) DVI_CHECK(before_refs());
    DVI_CHECK(main.flush());
    git_repository* repo = repo_of(main);
    for (auto& s : out.chains) {
        if (s.records > 0) {
            DVI_TRY(to, parse_oid(s.to));
            git_reference* ref = nullptr;
            std::string msg = "dvi: sync " + s.to;
            std::optional<git_oid> from;
            if (s.from) {
                DVI_TRY(f, parse_oid(*s.from));
                from = f;
            }
            // A ref lock is held for microseconds by a live writer; one left by a killed
            // process is recovered once stale, rather than blocking this chain for good.
            int rc = GIT_ELOCKED;
            auto backoff = std::chrono::milliseconds(2);
            for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);;) {
                rc = from ? git_reference_create_matching(&ref, repo, s.writer.ref().c_str(), &to, 1, &*from, msg.c_str())
                          : git_reference_create(&ref, repo, s.writer.ref().c_str(), &to, 0, msg.c_str());
                if (rc != GIT_ELOCKED || std::chrono::steady_clock::now() > deadline) break;
                git_error_clear();
                if (auto notice = git::remove_stale_ref_lock(main.path(), s.writer.ref())) {
                    out.notices.push_back(*notice);
                    continue;
                }
                std::this_thread::sleep_for(backoff);
                backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
            }
            if (rc == 0) {
                git_reference_free(ref);
            } else if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS || rc == GIT_ELOCKED) {
                git_error_clear();
                out.records -= s.records;
                s.records = 0;
                stays(s);
                s.status = ChainStatus::refused;
                s.reason = "the chain moved while it was being verified; run the sync again";
                ++out.refused;
            } else {
                return git::error(rc, "cannot update " + s.writer.ref());
            }
        }
        if (s.status == ChainStatus::fork) {
            for (auto& c : {s.fork_ours, s.fork_theirs}) {
                if (c.empty()) continue;
                // Each head as it was when the fork was seen: the evidence is both chains.
                std::string head = c == s.fork_ours ? *s.from : s.offered;
                DVI_TRY(oid, parse_oid(head));
                std::string name = "refs/dvi/forks/" + s.writer.partner + "/" + s.writer.writer + "/" + head;
                git_reference* ref = nullptr;
                int rc = git_reference_create(&ref, repo, name.c_str(), &oid, 0, "dvi: equivocation evidence");
                if (rc == 0) git_reference_free(ref);
                else if (rc == GIT_EEXISTS) git_error_clear();
                else return git::error(rc, "cannot keep fork evidence " + name);
            }
        }
    }
    DVI_CHECK(main.flush());
    main.reload();
    return out;
}

}  // namespace detail
}  // namespace dvi
