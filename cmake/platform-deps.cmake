# Optional per-platform dependencies, included by the top CMakeLists.txt
# after the attestverify library is defined.  Each platform appends its own
# block; keep them independent.

# TPM 2.0 quotes (src/evidence/tpm*.c, azure_vtpm.c): tpm2-tss's
# marshalling library unmarshals every TPM structure.
pkg_check_modules(TSS2_MU REQUIRED IMPORTED_TARGET tss2-mu)
target_link_libraries(attestverify PUBLIC PkgConfig::TSS2_MU)
