# gongshu_flags: warnings and hardening for our own code. Generated protobuf code does not link
# this (it is not ours to fix), but every core/, tools/, daemon/, agent/ target does.
add_library(gongshu_flags INTERFACE)
target_compile_options(gongshu_flags INTERFACE
  -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wformat=2 -Wimplicit-fallthrough)
# GCC 12's flow-sensitive string warnings misfire at -O3 inside libstdc++ (std::string and
# std::vector copies): they stay visible as warnings, but do not fail a Release build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(gongshu_flags INTERFACE
    -Wno-error=restrict -Wno-error=stringop-overflow -Wno-error=maybe-uninitialized)
endif()

# Hardening applies to everything we link, generated code included.
add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection)
add_link_options(-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
include(CheckPIESupported)
check_pie_supported()

if(GONGSHU_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  # _FORTIFY_SOURCE and ASan check the same things and conflict; ASan wins in this build.
elseif(NOT GONGSHU_FUZZ)  # the fuzz build (top-level CMakeLists.txt) runs ASan as well
  # _FORTIFY_SOURCE needs optimisation; the default build type is RelWithDebInfo.
  add_compile_options($<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
endif()

# Helper: a gongshu library. gongshu_library(NAME SOURCES... DEPS ... [OWNS LIB...])
# OWNS: the C libraries (cmake/OwnedHeaders.cmake) this module alone includes and links, PRIVATE.
function(gongshu_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;OWNS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE gongshu_flags)
  gongshu_owns(${name} ${ARG_OWNS})
endfunction()

function(gongshu_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;OWNS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} gongshu_flags)
  gongshu_owns(${name} ${ARG_OWNS})
endfunction()
