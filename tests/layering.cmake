# The one-way dependency rule (docs/ARCHITECTURE.md), checked on the sources' #include "..." lines:
#   core/        includes only core/
#   models/      core/, models/            losses/  core/, losses/
#   backends/    core/, backends/          reports/ core/, reports/
#   experiments/ core/, models/, losses/, backends/, experiments/
#   cli/         anything                  fuzz/    core/, reports/, fuzz/
# Run by ctest (unit.layering): cmake -DSOURCE_DIR=<repository> -P tests/layering.cmake
cmake_minimum_required(VERSION 3.25)
set(allowed_core "core")
set(allowed_models "core;models")
set(allowed_losses "core;losses")
set(allowed_backends "core;backends")
set(allowed_reports "core;reports")
set(allowed_experiments "core;models;losses;backends;experiments")
set(allowed_fuzz "core;reports;fuzz")
set(layers core models losses backends reports experiments fuzz)
set(project_dirs core models losses backends reports experiments cli fuzz tests)

set(violations "")
foreach(layer ${layers})
  file(GLOB_RECURSE sources "${SOURCE_DIR}/${layer}/*.h" "${SOURCE_DIR}/${layer}/*.cpp" "${SOURCE_DIR}/${layer}/*.cu"
       "${SOURCE_DIR}/${layer}/*.cuh")
  foreach(source ${sources})
    file(STRINGS "${source}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[a-z_]+/")
    foreach(line ${includes})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([a-z_]+)/.*" "\\1" top "${line}")
      if(NOT top IN_LIST project_dirs)
        continue()
      endif()
      if(NOT top IN_LIST allowed_${layer})
        file(RELATIVE_PATH relative "${SOURCE_DIR}" "${source}")
        string(STRIP "${line}" line)
        list(APPEND violations "${relative}: ${line} (${layer}/ may include ${allowed_${layer}})")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(LENGTH violations count)
  string(REPLACE ";" "\n  " text "${violations}")
  message(FATAL_ERROR "${count} include(s) against the layering (docs/ARCHITECTURE.md):\n  ${text}")
endif()
message(STATUS "layering: every include points down")
