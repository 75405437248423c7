#pragma once
// Result<T>: a value or an Error, in the style of tl::expected. The one error system of lade:
// functions that can fail return Result; exceptions are only caught at library boundaries
// (nlohmann_json, std::filesystem) and converted here.
#include <string>
#include <utility>
#include <variant>

namespace lade::util {

/// An error as the user sees it. `code` follows npm's names where npm has one
/// (E404, ETARGET, EINTEGRITY, EJSONPARSE, ERESOLVE, EUSAGE, ...), so scripts and people
/// who know npm recognise it; `message` is one sentence that says what happened and what to do.
struct Error {
  std::string code;
  std::string message;
  /// The process's exit status for this error when it is not npm's usual one (see
  /// exit_status_for): a failed script's own exit code, as npm passes it on. 0: not set.
  int exit_status = 0;
};

/// The exit status npm would end with for `error`: its exit_status when set, 256 + errno for a
/// system error (ENOENT exits 254, EACCES 243), else 1.
int exit_status_for(const Error& error);

/// The symbol node puts in `err.code` for a system error number: "ENOENT", "EACCES"...
std::string errno_code(int errnum);

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error&& take_error() { return std::move(error_); }
  void value() const {}

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace lade::util

/// `auto x = LADE_TRY(f());` returns f's error from the enclosing function, else yields the value.
/// Uses a GNU statement expression (GCC and Clang).
#define LADE_TRY(expr)                                    \
  ({                                                      \
    auto&& _lade_r = (expr);                              \
    if (!_lade_r.ok()) return _lade_r.take_error();       \
    std::move(_lade_r).value();                           \
  })
