# Build facts stamped into every output file (src/sp/util/version.hpp).
#
# Included by the top-level CMakeLists.txt (configure time):
#   SP_CXX_COMPILER     "GNU 12.2.0": the compiler's ID and version
#   SP_CXX_FLAGS        CMAKE_CXX_FLAGS and the build type's flags, "-O2 -g -DNDEBUG"
#   SP_BUILD_TYPE       "RelWithDebInfo" (empty for multi-config generators)
#   sp_add_git_revision(target out)
#                       makes `target` compile `out`, a .cpp defining sp::git_revision(), which a
#                       custom target regenerates on every build: the revision is the one the
#                       binary was built from, not the one CMake last configured at.
# Run as a script (cmake -DSP_SOURCE_DIR=... -DSP_OUT=... -P SpGitRevision.cmake), by that target:
#   writes SP_OUT only when its text changed, so an unchanged revision rebuilds nothing.
#
# The revision is the short git hash, "-dirty" when tracked files have changes, "unknown" outside a
# checkout (a release tarball, a container without .git) or without git.

function(_sp_git_revision source_dir out_var)
    find_package(Git QUIET)
    set(revision "unknown")
    if(GIT_FOUND AND EXISTS "${source_dir}/.git")
        execute_process(COMMAND "${GIT_EXECUTABLE}" rev-parse --short=12 HEAD
                        WORKING_DIRECTORY "${source_dir}"
                        OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE
                        RESULT_VARIABLE rc ERROR_QUIET)
        if(rc EQUAL 0 AND rev)
            execute_process(COMMAND "${GIT_EXECUTABLE}" status --porcelain --untracked-files=no
                            WORKING_DIRECTORY "${source_dir}"
                            OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
            set(revision "${rev}")
            if(dirty)
                string(APPEND revision "-dirty")
            endif()
        endif()
    endif()
    set(${out_var} "${revision}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
    if(NOT SP_SOURCE_DIR OR NOT SP_OUT)
        message(FATAL_ERROR "SpGitRevision.cmake: pass -DSP_SOURCE_DIR=<dir> -DSP_OUT=<file.cpp>")
    endif()
    _sp_git_revision("${SP_SOURCE_DIR}" revision)
    set(text "// Generated at build time by cmake/SpGitRevision.cmake: do not edit.\n")
    string(APPEND text "#include \"sp/util/version.hpp\"\n\n")
    string(APPEND text "namespace sp {\n\n")
    string(APPEND text "const char* git_revision() noexcept { return \"${revision}\"; }\n\n")
    string(APPEND text "} // namespace sp\n")
    set(old "")
    if(EXISTS "${SP_OUT}")
        file(READ "${SP_OUT}" old)
    endif()
    if(NOT old STREQUAL text)
        file(WRITE "${SP_OUT}" "${text}")
    endif()
    return()
endif()

set(_SP_GIT_REVISION_SCRIPT "${CMAKE_CURRENT_LIST_FILE}")

set(SP_CXX_COMPILER "${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
set(SP_BUILD_TYPE "${CMAKE_BUILD_TYPE}")
string(TOUPPER "${CMAKE_BUILD_TYPE}" _sp_build_type_upper)
set(SP_CXX_FLAGS "${CMAKE_CXX_FLAGS}")
if(_sp_build_type_upper)
    string(APPEND SP_CXX_FLAGS " ${CMAKE_CXX_FLAGS_${_sp_build_type_upper}}")
endif()
string(STRIP "${SP_CXX_FLAGS}" SP_CXX_FLAGS)

function(sp_add_git_revision target out)
    add_custom_target(${target}_git_revision
        COMMAND "${CMAKE_COMMAND}" "-DSP_SOURCE_DIR=${PROJECT_SOURCE_DIR}" "-DSP_OUT=${out}"
                -P "${_SP_GIT_REVISION_SCRIPT}"
        BYPRODUCTS "${out}"
        COMMENT "Checking the git revision"
        VERBATIM)
    # The first configure writes it too, so that the file exists before any build step.
    if(NOT EXISTS "${out}")
        execute_process(COMMAND "${CMAKE_COMMAND}" "-DSP_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
                                "-DSP_OUT=${out}" -P "${_SP_GIT_REVISION_SCRIPT}")
    endif()
    target_sources(${target} PRIVATE "${out}")
    add_dependencies(${target} ${target}_git_revision)
endfunction()
