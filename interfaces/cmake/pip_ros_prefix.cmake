# Injected with -DCMAKE_PROJECT_INCLUDE=... when an interface package is built against the
# ROS 2 PyPI wheels (the pip route, see Makefile). Not used by colcon on a ROS install.
#
# The wheels' exported `<pkg>::<pkg>__rosidl_generator_py` targets carry the Python and NumPy
# include directories of the machine they were built on (/opt/python/...). Before CMake
# generates, point every imported target that names such a directory at this venv's.

if(NOT Python3_EXECUTABLE)
  message(FATAL_ERROR "pip_ros_prefix.cmake: set -DPython3_EXECUTABLE=<venv>/bin/python")
endif()

execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c
    "import sysconfig, numpy; print(sysconfig.get_paths()['include'] + ';' + numpy.get_include())"
  OUTPUT_VARIABLE _drn_local_python_includes
  OUTPUT_STRIP_TRAILING_WHITESPACE
  COMMAND_ERROR_IS_FATAL ANY)

function(_drn_repoint_wheel_include_dirs)
  get_directory_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" IMPORTED_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(_dirs AND "${_dirs}" MATCHES "/opt/python/")
      set(_kept "")
      foreach(_dir IN LISTS _dirs)
        if(NOT _dir MATCHES "^/opt/python/")
          list(APPEND _kept "${_dir}")
        endif()
      endforeach()
      list(APPEND _kept ${_drn_local_python_includes})
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept}")
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _drn_repoint_wheel_include_dirs)
