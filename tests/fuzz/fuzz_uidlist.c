/* fuzz_uidlist.c — libFuzzer target for the dovecot-uidlist parser
 * (src/store/store_dovecot.c), which reads a file another program wrote
 * when a Maildir migrated from Dovecot is indexed. Oracles: the input
 * fed whole and fed in two pieces (split where the first byte says)
 * gives the same header, entries and look-ups; a usable header has a
 * UIDVALIDITY, a NEXTUID above every UID listed and a GUID of 32
 * lower-case hex digits or none; every name kept is a non-empty unique
 * part (no '/', ',', ':' or NUL, not a dot file) and finds a UID listed
 * for it (the last one, as Dovecot takes). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_dovecot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool parse(struct store_uidlist *ul, const uint8_t *data, size_t size, size_t split)
{
	store_uidlist_init(ul);
	store_uidlist_feed(ul, data, split);
	store_uidlist_feed(ul, data + split, size - split);
	return store_uidlist_finish(ul);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	struct store_uidlist a, b;
	bool ra = parse(&a, data, size, size);
	bool rb = parse(&b, data, size, size > 0 ? data[0] % (size + 1) : 0);
	if (ra != rb)
		abort();
	if (ra) {
		if (a.version != b.version || a.uidvalidity != b.uidvalidity ||
		    a.nextuid != b.nextuid || strcmp(a.guid, b.guid) != 0 ||
		    a.max_uid != b.max_uid || a.n_entries != b.n_entries ||
		    a.n_skipped != b.n_skipped)
			abort();
		if (a.uidvalidity == 0 || a.nextuid <= a.max_uid || (a.version != 1 && a.version != 3))
			abort();
		size_t glen = strlen(a.guid);
		if (glen != 0 && glen != 32)
			abort();
		for (size_t i = 0; i < glen; i++)
			if (!((a.guid[i] >= '0' && a.guid[i] <= '9') ||
			      (a.guid[i] >= 'a' && a.guid[i] <= 'f')))
				abort();
		for (size_t i = 0; i < a.n_entries; i++) {
			const struct store_uidlist_entry *e = &a.entries[i];
			const char *name = a.names.data + e->name_ofs;
			if (e->name_len == 0 || strlen(name) != e->name_len || name[0] == '.' ||
			    strpbrk(name, "/,:") != NULL || e->uid == 0 || e->uid > a.max_uid)
				abort();
			uint32_t uid = store_uidlist_lookup(&a, name, e->name_len);
			if (uid != store_uidlist_lookup(&b, name, e->name_len))
				abort();
			/* The last entry of that name. */
			uint32_t last = 0;
			for (size_t j = 0; j < a.n_entries; j++) {
				const struct store_uidlist_entry *o = &a.entries[j];
				if (o->name_len == e->name_len &&
				    memcmp(a.names.data + o->name_ofs, name, e->name_len) == 0)
					last = o->uid;
			}
			if (uid != last)
				abort();
		}
	}
	store_uidlist_free(&a);
	store_uidlist_free(&b);
	return 0;
}
