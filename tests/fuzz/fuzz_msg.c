/* SPDX-License-Identifier: MIT */
/*
 * DOC: fuzz target — the control and handoff message parser
 *
 * Feeds arbitrary bytes to baton_msg_frame() and baton_msg_parse(), and for
 * every accepted message walks every item with every typed getter, the way
 * the runtime reads them. Seeds: tests/fuzz/seeds/msg/.
 * Run: scripts/fuzz build-fuzz 60 (a -Dfuzzing=true build instruments the
 * library, so coverage reaches into the parser).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baton_msg m;
	struct baton_msg_item it;
	struct baton_diag d;
	char text[BATON_MSG_TEXT_MAX + 1];
	size_t need, pos = 0;
	uint64_t u64;
	uint32_t u32;
	uint16_t rule;

	baton_msg_frame(data, size, &need, &d);
	if (baton_msg_parse(&m, data, size, &d) < 0)
		return 0;
	while (baton_msg_next(&m, &pos, &it) > 0) {
		baton_msg_item_str(&it, text, sizeof(text));
		if (it.tag == BATON_TAG_FINDING)
			baton_msg_item_finding(&it, &rule, text, sizeof(text));
		baton_msg_get_u32(&m, it.tag, &u32);
		baton_msg_get_u64(&m, it.tag, &u64);
		baton_msg_get_str(&m, it.tag, text, 8);
	}
	return 0;
}
