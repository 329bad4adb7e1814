#!/usr/bin/env bash
# What reading and copying a large message costs in memory.
#
#   bench/memory.sh [SIZE_MB]      (default 25)
#
# Writes three messages of about SIZE_MB to a temporary directory, as the
# milter spills a large message to disk: a short text with a large base64
# attachment, one large text/plain part, one large text/html part.  For
# each, build/mime_memory opens the file as the milter does, extracts it
# and composes the registrator copy into a file, and reports the resident
# set size: at the start (libraries, templates), after extraction, after
# the copy, and the peak.  "extra" is the peak beyond the start: what the
# message costs beyond its own storage (the file on disk).
#
# The figure to watch is the attachment case: a few MB.  Large text parts
# cost the text the rules keep ([mime] max_text, 2 MB by default) and a few
# chunks beside it.  Two floods follow, messages made to exhaust memory:
# 400,000 empty parts (2.8 MB) and 900,000 header fields (23 MB), which
# GMime alone once turned into 520 MB and 430 MB; the parse budget
# (mime/dm_mime_budget.c) hands GMime only what keeps within the limits.
set -u
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
DM_BUILD=${DM_BUILD:-$DM_REPO/build}
BIN=$DM_BUILD/mime_memory
SIZE=${1:-25}
[ -x "$BIN" ] || { echo "bench/memory.sh: $BIN missing (make $BIN)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/dm-mem.XXXXXX")
trap 'rm -rf "$T"' EXIT

python3 - "$T" "$SIZE" <<'PY'
import base64, os, sys
d, mb = sys.argv[1], int(sys.argv[2])
size = mb * 1000 * 1000
head = ("From: Anna Berg <anna.berg@invanare.example>\n"
        "To: bygglov@sjovik.test\n"
        "Subject: Ritningar till bygglovet\n"
        "Message-ID: <memory@invanare.example>\n"
        "Date: Mon, 16 Nov 2026 10:00:00 +0100\n"
        "MIME-Version: 1.0\n")
# 1. A short text and a large attachment (random bytes: no compression).
raw = os.urandom(size * 3 // 4 - 4096)
with open(os.path.join(d, "attachment.eml"), "w") as f:
    f.write(head + 'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
            "Content-Type: text/plain; charset=utf-8\n\n"
            "Här kommer ritningarna till BN 2026/45.\n--b\n"
            'Content-Type: application/pdf; name="ritningar.pdf"\n'
            'Content-Disposition: attachment; filename="ritningar.pdf"\n'
            "Content-Transfer-Encoding: base64\n\n")
    f.write(base64.encodebytes(raw).decode())
    f.write("--b--\n")
# 2. One large text/plain part, quoted-printable Latin-1.
line = "Sj=F6vik =E4r en kommun d=E4r bygglov BN 2026/45 ska hanteras.\n"
with open(os.path.join(d, "text.eml"), "w") as f:
    f.write(head + "Content-Type: text/plain; charset=iso-8859-1\n"
            "Content-Transfer-Encoding: quoted-printable\n\n")
    f.write(line * (size // len(line)))
# 3. One large text/html part, UTF-8, a table as Outlook writes it.
row = ('<tr><td style="font-family:Calibri;color:#1F497D"><span>Sj&ouml;vik</span> '
       '&auml;r en <b>kommun</b></td></tr>\n')
with open(os.path.join(d, "html.eml"), "w") as f:
    f.write(head + "Content-Type: text/html; charset=utf-8\n\n<html><body><table>\n")
    f.write(row * (size // len(row)))
    f.write("</table></body></html>\n")
# 4. A flood of empty parts.
with open(os.path.join(d, "parts.eml"), "w") as f:
    f.write(head + 'Content-Type: multipart/mixed; boundary="b"\n\n')
    f.write("--b\n\nx\n" * 400000)
    f.write("--b--\n")
# 6. A boundary declared and another used: GMime keeps the body as a
# string (the multipart's preamble).
with open(os.path.join(d, "preamble.eml"), "w") as f:
    f.write(head + 'Content-Type: multipart/mixed; boundary="A"\n\n--B\n\n')
    f.write("Rad med text om bygglovet.\n" * (size // 27))
    f.write("--B--\n")
# 5. A flood of header fields.
with open(os.path.join(d, "headers.eml"), "w") as f:
    f.write(head + ("X-H: " + "v" * 20 + "\n") * 900000 + "\nText\n")
PY

printf '%-12s %8s %8s %8s %8s %8s %8s\n' message size_MB start_MB extract copy peak extra_MB
for m in attachment text html parts headers preamble; do
    out=$(DM_SRCDIR=$DM_REPO "$BIN" "$T/$m.eml" "$T/$m.copy") || { echo "bench/memory.sh: $m failed" >&2; exit 1; }
    # size N start N extract N copy N peak N text N attachments N
    set -- $out
    awk -v m="$m" -v size="$2" -v start="$4" -v ex="$6" -v cp="$8" -v peak="${10}" 'BEGIN {
        printf "%-12s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f\n", m, size / 1e6, start / 1024,
               ex / 1024, cp / 1024, peak / 1024, (peak - start) / 1024 }'
    rm -f "$T/$m.copy"
done
