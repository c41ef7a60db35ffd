#include "sp/util/main.hpp"

#include "sp/util/error.hpp"

#include <exception>
#include <iostream>

namespace sp {

int guarded_main(const char* program, const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& e) {
        std::cerr << program << ": " << e.what() << '\n';
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << program << ": internal error: " << e.what() << '\n';
        return static_cast<int>(ExitCode::bug);
    }
}

} // namespace sp
