# r2q_torch_sources(TARGET [NO_TORCH src...]): how a target whose sources include LibTorch is compiled.
# - With R2Q_UNITY_BUILD (default ON) the LibTorch sources are compiled R2Q_UNITY_BATCH at a time as one
#   translation unit (0, the default: all of the target's), so <torch/torch.h> is parsed, and LibTorch's
#   inline functions are compiled, once per batch.
# - With R2Q_PRECOMPILED_HEADER (AUTO, the default: only without unity batches) they load the precompiled
#   <torch/torch.h> of r2q_quant: loading it costs about 7 s per translation unit and saves 10-13 s of
#   parsing, but building it takes 80 s before any LibTorch source can start, which one batch per target
#   does not earn back. The sources named after NO_TORCH do not include LibTorch (or only a small ATen
#   header): they stay out of the batches and never load the header.
# The measurements behind both are in docs/PERFORMANCE.md, "Build time".
#
# r2q_unity_sources(TARGET): a target without LibTorch whose sources mostly parse the same heavy headers
# (nlohmann/json, <filesystem>, <regex>) compiles them R2Q_UNITY_BATCH_LIGHT at a time, with R2Q_UNITY_BUILD.
# Sources with options of their own (an ISA's flags, -ffp-contract=off) are compiled alone, as CMake does for
# any source with COMPILE_OPTIONS.
function(r2q_unity_sources target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${R2Q_UNITY_BUILD}
                                             UNITY_BUILD_BATCH_SIZE ${R2Q_UNITY_BATCH_LIGHT})
endfunction()

function(r2q_torch_sources target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "NO_TORCH")
  if(NOT R2Q_USE_PRECOMPILED_HEADER)
  elseif(target STREQUAL "r2q_quant")
    target_precompile_headers(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/pch.h)
  else()
    target_precompile_headers(${target} REUSE_FROM r2q_quant)
  endif()
  if(arg_NO_TORCH)
    set_source_files_properties(${arg_NO_TORCH} TARGET_DIRECTORY ${target}
      PROPERTIES SKIP_PRECOMPILE_HEADERS ON SKIP_UNITY_BUILD_INCLUSION ON)
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${R2Q_UNITY_BUILD}
                                             UNITY_BUILD_BATCH_SIZE ${R2Q_UNITY_BATCH})
endfunction()
