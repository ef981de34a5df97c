# ccache speeds up rebuilds; the sloppiness settings let it cache units built with a PCH.
if(IMAGINE_USE_CCACHE)
  find_program(IMAGINE_CCACHE ccache)
  if(IMAGINE_CCACHE)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env
        CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
        ${IMAGINE_CCACHE})
  endif()
endif()
