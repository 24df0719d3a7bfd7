# ctest owned_c_headers: the one-owner rule for C libraries (cmake/OwnedHeaders.cmake) holds.
#
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DCXX=... -P owned_headers_check.cmake
#
# 1. The stand-ins work: for each library, including one of its headers compiles when the real
#    header is found, and fails with the owner's message behind the stand-ins.
# 2. The build applies them: every compile command of this build (compile_commands.json) for a
#    source of the tree has the stand-ins of every library its target does not own.
# 3. The tree keeps to it, including code this build does not compile (fuzz/ needs clang): a
#    file that includes a library's header lies under the sources of a target that owns it.

cmake_minimum_required(VERSION 3.25)

foreach(v SOURCE_DIR BINARY_DIR CXX)
  if(NOT ${v})
    message(FATAL_ERROR "owned_headers_check: -D${v}= is required")
  endif()
endforeach()

set(standins ${BINARY_DIR}/owned_headers)
set(failures)

file(GLOB libs RELATIVE ${standins} ${standins}/*)
list(FILTER libs EXCLUDE REGEX "[.]txt$")
if(NOT libs)
  message(FATAL_ERROR "no stand-in headers under ${standins}: is the build configured?")
endif()

# Which library each header name belongs to.
foreach(lib ${libs})
  file(GLOB_RECURSE names RELATIVE ${standins}/${lib} ${standins}/${lib}/*)
  set(first_${lib})
  foreach(name ${names})
    set("lib_of_${name}" ${lib})
    # A header meant to be included directly (not one of systemd's private _sd-*.h) probes.
    if(NOT first_${lib} AND NOT name MATCHES "(^|/)_")
      set(first_${lib} ${name})
    endif()
  endforeach()
endforeach()

# Which targets own what, and where their sources are: "target:dir:lib,lib".
file(STRINGS ${standins}/owners.txt owner_lines)
foreach(line ${owner_lines})
  string(REPLACE ":" ";" fields "${line}")
  list(GET fields 0 target)
  list(GET fields 1 dir)
  list(GET fields 2 owned)
  string(REPLACE "," ";" owned "${owned}")
  set(owns_${target} ${owned})
  foreach(lib ${owned})
    list(APPEND owner_dirs_${lib} ${dir})
  endforeach()
endforeach()

# 1. The stand-ins stop a compile, and only they do. (libfuse3's headers need the API version
# their user declares.)
set(probe ${BINARY_DIR}/owned_headers_probe.cc)
foreach(lib ${libs})
  file(WRITE ${probe}
       "#define FUSE_USE_VERSION 31\n#include <${first_${lib}}>\nint main() { return 0; }\n")
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only ${probe}
                  RESULT_VARIABLE plain ERROR_VARIABLE plain_err)
  execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only -I${standins}/${lib} ${probe}
                  RESULT_VARIABLE confined ERROR_VARIABLE confined_err)
  if(NOT plain EQUAL 0)
    list(APPEND failures "<${first_${lib}}> does not compile even without stand-ins: ${plain_err}")
  elseif(confined EQUAL 0 OR NOT confined_err MATCHES "is included by [^ ]+ alone")
    list(APPEND failures "<${first_${lib}}> compiles behind the stand-ins of ${lib}")
  endif()
endforeach()
file(REMOVE ${probe})

# 2. Every compile command of the tree's sources carries the stand-ins its target needs.
set(commands ${BINARY_DIR}/compile_commands.json)
if(NOT EXISTS ${commands})
  message(FATAL_ERROR "${commands} is missing (CMAKE_EXPORT_COMPILE_COMMANDS)")
endif()
# As a list of lines; a bracket or semicolon in a CMake list would join or split elements.
file(READ ${commands} lines)
string(REPLACE ";" "<semicolon>" lines "${lines}")
string(REPLACE "[" "<open>" lines "${lines}")
string(REPLACE "]" "<close>" lines "${lines}")
string(REPLACE "\n" ";" lines "${lines}")
set(command "")
set(checked 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^[ \t]*\"command\": \"(.*)\",?$")
    set(command "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^[ \t]*\"file\": \"(.*)\",?$")
    set(file "${CMAKE_MATCH_1}")
    string(FIND "${file}" "${SOURCE_DIR}/" in_source)
    string(FIND "${file}" "${BINARY_DIR}/" in_binary)
    if(in_source EQUAL 0 AND NOT in_binary EQUAL 0)
      if(NOT command MATCHES "CMakeFiles/([^/ ]+)[.]dir/")
        list(APPEND failures "cannot tell the target compiling ${file}")
      else()
        set(target ${CMAKE_MATCH_1})
        math(EXPR checked "${checked} + 1")
        foreach(lib ${libs})
          if(lib IN_LIST owns_${target})
            continue()
          endif()
          string(FIND "${command}" "-I${standins}/${lib} " at)
          if(at EQUAL -1)
            list(APPEND failures "${file} (${target}) compiles without the stand-ins of ${lib}")
          endif()
        endforeach()
      endif()
    endif()
    set(command "")
  endif()
endforeach()
if(checked EQUAL 0)
  list(APPEND failures "no compile command of the tree's sources in ${commands}")
endif()

# 3. No file includes a header of a library that no target of its directory owns.
set(scanned 0)
foreach(top core agent daemon tools tests fuzz bench protocol)
  file(GLOB_RECURSE sources ${SOURCE_DIR}/${top}/*.h ${SOURCE_DIR}/${top}/*.hpp
       ${SOURCE_DIR}/${top}/*.cc ${SOURCE_DIR}/${top}/*.cpp)
  foreach(source ${sources})
    math(EXPR scanned "${scanned} + 1")
    file(RELATIVE_PATH rel ${SOURCE_DIR} ${source})
    file(STRINGS ${source} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"][^>\"]+[>\"]")
    foreach(inc ${includes})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*" "\\1" name "${inc}")
      set(lib "${lib_of_${name}}")
      if(NOT lib)
        continue()
      endif()
      set(allowed FALSE)
      foreach(dir ${owner_dirs_${lib}})
        if(rel MATCHES "^${dir}/")
          set(allowed TRUE)
        endif()
      endforeach()
      if(NOT allowed)
        list(JOIN owner_dirs_${lib} ", " owners)
        list(APPEND failures "${rel} includes <${name}>, which only ${owners} may")
      endif()
    endforeach()
  endforeach()
endforeach()

if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "one owner per C library (cmake/OwnedHeaders.cmake) is broken:\n  ${text}")
endif()
message(STATUS "owned C headers: ${checked} compile commands and ${scanned} files keep to their owners")
