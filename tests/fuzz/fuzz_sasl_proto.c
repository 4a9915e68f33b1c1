/* fuzz_sasl_proto.c — libFuzzer target for the auth socket line codec
 * (auth_proto.c) that carries SASL exchanges between workers and the
 * auth process: both directions, with re-encoding round trips. */
#include <stdint.h>
#include <string.h>
#include "auth_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool from_server = data[0] & 1;
	struct buf in = BUF_INIT;
	buf_append(&in, data + 1, size - 1);
	for (;;) {
		struct auth_proto_msg msg;
		const char *error;
		int ret = auth_proto_read(&in, from_server, &msg, &error);
		if (ret <= 0)
			break;
		/* What we parse, we write back identically. */
		struct buf out = BUF_INIT;
		struct auth_proto_msg again;
		auth_proto_write(&out, msg.type, msg.id, (const char *const *)msg.args, msg.nargs);
		if (auth_proto_read(&out, from_server, &again, &error) != 1 ||
		    again.type != msg.type || again.id != msg.id || again.nargs != msg.nargs)
			__builtin_trap();
		for (unsigned i = 0; i < msg.nargs; i++)
			if (strcmp(msg.args[i], again.args[i]) != 0)
				__builtin_trap();
		auth_proto_msg_free(&again);
		auth_proto_msg_free(&msg);
		buf_free(&out);
	}
	buf_free(&in);
	return 0;
}
