#include "support/errors.hpp"

#include "sp/util/error.hpp"

#include <exception>

namespace sp::test {

std::string data_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const sp::DataError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("not a DataError: ") + e.what();
    }
    return "no error";
}

} // namespace sp::test
