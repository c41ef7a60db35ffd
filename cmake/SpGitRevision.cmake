# The git revision stamped into every output file. Taken at configure time; "unknown" outside a
# checkout (a release tarball, a container without .git). A "-dirty" suffix marks local changes.
find_package(Git QUIET)
set(SP_GIT_REVISION "unknown")
if(GIT_FOUND AND EXISTS "${PROJECT_SOURCE_DIR}/.git")
    execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                    OUTPUT_VARIABLE _sp_rev OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _sp_rc ERROR_QUIET)
    if(_sp_rc EQUAL 0 AND _sp_rev)
        execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
                        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
                        OUTPUT_VARIABLE _sp_dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        set(SP_GIT_REVISION "${_sp_rev}")
        if(_sp_dirty)
            string(APPEND SP_GIT_REVISION "-dirty")
        endif()
    endif()
endif()
