#pragma once
// What a piece of code throws, as text, for tests of error messages.

#include <functional>
#include <string>

namespace sp::test {

/// Runs `f` and returns the message of the sp::DataError it throws; "not a DataError: <what>"
/// for another std::exception, "no error" when it returns normally.
std::string data_error_of(const std::function<void()>& f);

} // namespace sp::test
