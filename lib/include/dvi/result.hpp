// The one way dvi's library reports failure: Result<T> holds a value or an Error.
// Exceptions are for bugs and are converted at third-party seams; see error.cpp.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace dvi {

// A small closed set of failure kinds; the CLI maps each to an exit status.
enum class Errc {
    invalid_input,  // the user can fix it: manifest, option value, missing file (exit 2)
    not_found,      // an id, ledger, key or file that does not exist (exit 2)
    denied,         // a negative answer: not authorised, revoked, refused (exit 1)
    bad_signature,  // a signature or hash did not verify (exit 1)
    conflict,       // a concurrent writer won; retried internally, else exit 128
    io,             // the file system failed us (exit 128)
    repository,     // libgit2 failed (exit 128)
    crypto,         // OpenSSL failed (exit 128)
    internal,       // a bug (exit 128)
};

// What went wrong, as one lower-case sentence naming its subject, and an optional
// next step for the user.
struct Error {
    Errc code = Errc::internal;
    std::string message;
    std::string hint;
};

inline Error make_error(Errc code, std::string message, std::string hint = {}) {
    return Error{code, std::move(message), std::move(hint)};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T* operator->() { return &std::get<0>(m_v); }
    const T* operator->() const { return &std::get<0>(m_v); }
    T& operator*() & { return std::get<0>(m_v); }
    const T& operator*() const& { return std::get<0>(m_v); }

    const Error& error() const { return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : m_error(std::move(error)), m_failed(true) {}
    bool ok() const { return !m_failed; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return m_error; }

private:
    Error m_error;
    bool m_failed = false;
};

using Status = Result<void>;

}  // namespace dvi

// Propagate a failed Result from the enclosing function; evaluates to the value.
#define DVI_TRY(var, expr)                                  \
    auto var##_result_ = (expr);                            \
    if (!var##_result_.ok()) return var##_result_.error();  \
    auto var = std::move(var##_result_).value()

#define DVI_CHECK(expr)                                     \
    do {                                                    \
        auto dvi_status_ = (expr);                          \
        if (!dvi_status_.ok()) return dvi_status_.error();  \
    } while (0)
