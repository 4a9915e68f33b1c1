#!/bin/sh
# tests/data/mime/dovecot-expected.sh — records Dovecot's BODYSTRUCTURE,
# BODY and ENVELOPE for every *.eml here into <name>.expected, by running
# a throwaway dovecot imap process in preauth mode over a temporary
# Maildir (no listener, no daemon). Run by hand as root when the corpus
# changes; the unit tests compare src/mail's output with these files.
# Each .expected holds three lines: BODYSTRUCTURE, BODY, ENVELOPE, with
# literals kept as {n}CRLF<bytes>.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mail/cur" "$tmp/mail/new" "$tmp/mail/tmp" "$tmp/run"
cat > "$tmp/dovecot.conf" <<CONF
base_dir = $tmp/run
state_dir = $tmp/run
log_path = $tmp/log
protocols =
ssl = no
mail_location = maildir:$tmp/mail:INDEX=MEMORY
mail_uid = 65534
mail_gid = 65534
first_valid_uid = 0
first_valid_gid = 0
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$tmp
}
passdb {
  driver = static
  args = nopassword=y
}
CONF
for f in "$here"/*.eml; do
	name=$(basename "$f" .eml)
	rm -f "$tmp"/mail/cur/*
	cp "$f" "$tmp/mail/cur/1.$name:2,"
	chown -R 65534:65534 "$tmp/mail" "$tmp/run"
	chmod 755 "$tmp"
	printf 'a SELECT INBOX\r\nb FETCH 1 (BODYSTRUCTURE)\r\nc FETCH 1 (BODY)\r\nd FETCH 1 (ENVELOPE)\r\ne LOGOUT\r\n' |
		env USER=test HOME="$tmp" MAIL="maildir:$tmp/mail:INDEX=MEMORY" \
		/usr/lib/dovecot/imap -c "$tmp/dovecot.conf" > "$tmp/out" 2>&1
	python3 - "$tmp/out" "$here/$name.expected" <<'PY'
import sys, re
data = open(sys.argv[1], 'rb').read()
out = []
for item in (b'BODYSTRUCTURE', b'BODY', b'ENVELOPE'):
    m = re.search(rb'\* 1 FETCH \(' + item + rb' ', data)
    if not m:
        sys.exit('no ' + item.decode() + ' in output:\n' + data.decode('latin-1'))
    pos = m.end()
    # read the value: balanced parentheses, honouring quoted strings and
    # literals
    depth = 0; i = pos
    while True:
        c = data[i:i+1]
        if c == b'"':
            i += 1
            while data[i:i+1] != b'"':
                i += 2 if data[i:i+1] == b'\\' else 1
            i += 1; continue
        if c == b'{':
            j = data.index(b'}', i)
            n = int(data[i+1:j]); i = j + 3 + n; continue
        if c == b'(':
            depth += 1
        elif c == b')':
            depth -= 1
            if depth == 0:
                i += 1; break
        i += 1
    out.append(data[pos:i])
open(sys.argv[2], 'wb').write(b'\n'.join(out) + b'\n')
PY
done
echo "wrote $(ls "$here"/*.expected | wc -l) files"
