# The Python package (python/): pybind11 over the same static libraries, linked against
# the LibTorch that Debian's python3-torch loads (libtorch-dev is the same build), so tensors
# cross without copies. IMAGINE_PYTHON: AUTO builds it when pybind11, the Python headers and
# torch's Python package are found for IMAGINE_PYTHON_EXECUTABLE; ON requires them; OFF skips.
set(IMAGINE_HAVE_PYTHON 0)
if(NOT IMAGINE_PYTHON STREQUAL "OFF")
  # Debian's interpreter, not the first python3 on PATH (pyenv and virtualenvs lack
  # python3-torch); FindPython3 takes Python3_EXECUTABLE as the interpreter to use.
  set(Python3_EXECUTABLE ${IMAGINE_PYTHON_EXECUTABLE})
  find_package(Python3 COMPONENTS Interpreter Development.Module QUIET)
  set(_missing "")
  if(NOT Python3_FOUND)
    list(APPEND _missing "the Python headers for ${IMAGINE_PYTHON_EXECUTABLE} (python3-dev)")
  else()
    find_package(pybind11 2.6 CONFIG QUIET)
    if(NOT pybind11_FOUND)
      list(APPEND _missing "pybind11 (pybind11-dev)")
    endif()
    # torch's Python package must load the LibTorch this build links (same version).
    execute_process(
        COMMAND ${Python3_EXECUTABLE} -c "import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__))"
        OUTPUT_VARIABLE _torch_out ERROR_QUIET RESULT_VARIABLE _torch_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT _torch_rc EQUAL 0)
      list(APPEND _missing "torch's Python package for ${Python3_EXECUTABLE} (python3-torch)")
    else()
      string(REPLACE "\n" ";" _torch_out "${_torch_out}")
      list(GET _torch_out 0 _torch_py_version)
      list(GET _torch_out 1 _torch_py_dir)
      string(REGEX MATCH "^[0-9]+\\.[0-9]+" _torch_py_minor "${_torch_py_version}")
      string(REGEX MATCH "^[0-9]+\\.[0-9]+" _torch_cxx_minor "${Torch_VERSION}")
      if(NOT _torch_py_minor STREQUAL _torch_cxx_minor)
        list(APPEND _missing "torch ${Torch_VERSION} for Python (found ${_torch_py_version} in ${_torch_py_dir})")
      else()
        find_library(IMAGINE_TORCH_PYTHON_LIBRARY torch_python HINTS ${_torch_py_dir}/lib ${TORCH_INSTALL_PREFIX}/lib)
        if(NOT IMAGINE_TORCH_PYTHON_LIBRARY)
          list(APPEND _missing "libtorch_python (python3-torch)")
        endif()
      endif()
    endif()
  endif()
  if(NOT _missing)
    set(IMAGINE_HAVE_PYTHON 1)
    # The static layers go into a shared module: they must be position-independent code. Every
    # target gets -fPIC (not CMake's -fPIE for executables), because executables reuse the
    # libraries' precompiled header, which is only valid under the same setting.
    add_compile_options(-fPIC)
  elseif(IMAGINE_PYTHON STREQUAL "ON")
    string(REPLACE ";" ", " _missing "${_missing}")
    message(FATAL_ERROR "IMAGINE_PYTHON=ON but missing: ${_missing}")
  else()
    string(REPLACE ";" ", " _missing "${_missing}")
    message(STATUS "imagine: Python package not built; missing: ${_missing}")
  endif()
endif()
message(STATUS "imagine: Python package ${IMAGINE_HAVE_PYTHON}")
