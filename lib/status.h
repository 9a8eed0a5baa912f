// Status and Result<T>: the error values that every library call returns.
//
// A Status is either OK or carries a message that names what failed and on
// which value, ready to be logged or shown to an operator. Result<T> holds a
// value or a non-OK Status. Neither type throws.

#ifndef SRCONNECT_LIB_STATUS_H_
#define SRCONNECT_LIB_STATUS_H_

#include <optional>
#include <string>
#include <utility>

namespace srconnect {

class Status {
 public:
  Status() = default;

  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status status;
    status.ok_ = false;
    status.message_ = std::move(message);
    return status;
  }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }

  // Empty when ok().
  const std::string& message() const { return message_; }

 private:
  bool ok_ = true;
  std::string message_;
};

template <typename T>
class Result {
 public:
  // Implicit on purpose, so that a function can `return value;` or
  // `return Status::Error(...)`.
  Result(T value) : value_(std::move(value)) {}  // NOLINT
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Error("internal error: empty result");
  }

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }
  const std::string& error() const { return status_.message(); }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace srconnect

#endif  // SRCONNECT_LIB_STATUS_H_
