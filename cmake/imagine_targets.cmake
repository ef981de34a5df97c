# Flags shared by every target (kept identical so one precompiled header serves all).
add_library(imagine_flags INTERFACE)
target_compile_options(imagine_flags INTERFACE -Wall -Wextra -Wno-unused-parameter
                       $<$<BOOL:${IMAGINE_WERROR}>:-Werror>
                       # GCC 12 at -O3 reports bogus overflows in inlined std::vector copies and bogus
                       # uninitialised reads of defaulted std::string members.
                       $<$<CXX_COMPILER_ID:GNU>:-Wno-stringop-overflow -Wno-maybe-uninitialized>)
target_include_directories(imagine_flags INTERFACE ${PROJECT_SOURCE_DIR}/src ${PROJECT_BINARY_DIR}/generated)
target_include_directories(imagine_flags SYSTEM INTERFACE ${IMAGINE_STB_INCLUDE})
target_link_libraries(imagine_flags INTERFACE ${TORCH_LIBRARIES} Threads::Threads fmt::fmt spdlog::spdlog nlohmann_json::nlohmann_json tomlplusplus::tomlplusplus CLI11::CLI11 ZLIB::ZLIB)
if(GIF_FOUND)
  target_link_libraries(imagine_flags INTERFACE GIF::GIF)
endif()

configure_file(${PROJECT_SOURCE_DIR}/cmake/build_info.h.in ${PROJECT_BINARY_DIR}/generated/imagine/build_info.h @ONLY)

# One precompiled LibTorch header, built once and reused by every heavy target.
add_library(imagine_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch.cc)
target_link_libraries(imagine_pch PRIVATE imagine_flags)
if(IMAGINE_USE_PCH)
  target_precompile_headers(imagine_pch PRIVATE <torch/torch.h>)
endif()

function(imagine_use_pch target)
  if(IMAGINE_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM imagine_pch)
  endif()
endfunction()

# imagine_layer(name deps...): a static library from every .cc under src/imagine/<name>.
function(imagine_layer name)
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/imagine/${name}/*.cc)
  list(FILTER sources EXCLUDE REGEX "/cli/main\\.cc$")
  if(NOT IMAGINE_HAVE_ALE)
    list(FILTER sources EXCLUDE REGEX "/envs/atari/ale_.*\\.cc$")
  endif()
  add_library(imagine_${name} STATIC ${sources})
  target_link_libraries(imagine_${name} PUBLIC imagine_flags)
  foreach(dep IN LISTS ARGN)
    target_link_libraries(imagine_${name} PUBLIC imagine_${dep})
  endforeach()
  if(name STREQUAL "envs" AND IMAGINE_HAVE_ALE)
    # Private: only envs/atari/ale_*.cc include ALE's headers (its own includes stay out of
    # every other target's flags); static linking still passes the library on.
    target_link_libraries(imagine_envs PRIVATE ale::ale-lib)
    target_include_directories(imagine_envs SYSTEM PRIVATE ${IMAGINE_ALE_INCLUDE_ROOT})
  endif()
  imagine_use_pch(imagine_${name})
endfunction()
