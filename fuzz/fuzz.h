/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_FUZZ_H
#define VMM_FUZZ_H

#include <sanitizer/common_interface_defs.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Shared by the libFuzzer harnesses (fuzz/fuzz_*.c). A harness defines
 * LLVMFuzzerTestOneInput(); besides crashes and sanitizer reports it
 * checks the parser's promises with fuzz_check(), which aborts (and so
 * makes libFuzzer save the input) when one does not hold. The message
 * goes where sanitizer reports go, which stays open when a harness
 * silences the code under test's stderr (-close_fd_mask=2).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_STR2(x) #x
#define FUZZ_STR(x) FUZZ_STR2(x)
#define fuzz_check(cond)						\
	do {								\
		if (!(cond)) {						\
			__sanitizer_report_error_summary("fuzz_check failed: " \
				__FILE__ ":" FUZZ_STR(__LINE__) ": " #cond); \
			abort();					\
		}							\
	} while (0)

#endif
