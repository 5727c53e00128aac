#!/usr/bin/env bash
# Run ceph/s3-tests (github.com/ceph/s3-tests, MIT; not part of this repository
# nor of `make test`) against a throwaway `blobstream serve --s3-port` on loopback.
#   scripts/s3-tests.sh PATH-OR-URL-OF-AN-S3-TESTS-CLONE [STORAGE-URL]
# Prints the pass count of the tests of the operations blobstream serves
# (buckets, objects, listings, multipart, copy, conditionals, checksums, auth).
set -euo pipefail
src=${1:?usage: scripts/s3-tests.sh S3-TESTS-GIT-DIR [STORAGE-URL]}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/blobstream-s3-tests-XXXXXX)
storage=${2:-file://$work/data}
git clone -q "$src" "$work/s3-tests"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q -r "$work/s3-tests/requirements.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
s3port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
main=0555b35654ad1656d804:h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q==
alt=NOPQRSTUVWXYZABCDEFG:nopqrstuvwxyzabcdefghijklmnabcdefghijklm
tenant=HIJKLMNOPQRSTUVWXYZA:opqrstuvwxyzabcdefghijklmnopqrstuvwxyzab
iam=ABCDEFGHIJKLMNOPQRST:abcdefghijklmnopqrstuvwxyzabcdefghijklmn
# The suite's sample configuration, pointed at this server (api_name empty: no RGW zonegroup).
sed -e "s/^host = .*/host = 127.0.0.1/" -e "s/^port = .*/port = $s3port/" \
    -e "s/^api_name = .*/api_name =/" "$work/s3-tests/s3tests.conf.SAMPLE" > "$work/s3tests.conf"
BLOBSTREAM_S3_CREDENTIALS="$main:admin,$alt:admin,$tenant:admin,$iam:admin" \
    "$here/.venv/bin/blobstream" serve --storage "$storage" --port "$port" --s3-port "$s3port" \
    > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
select='bucket or object or list or multipart or copy or get or put or delete or head or checksum or conditional or auth or range or etag or upload or key or metadata or presign or post'
outside='acl or policy or versioning or versioned or version or lifecycle or tagging or tags or sse or encrypt or website or select or assume_role or iam or cors or logging or notification or lock or retention or legal or replication or ownership or public_access or torrent or accelerate or append or storage_class or transition or restore or grant or owner or abac or post_object or sns'
cd "$work/s3-tests"
S3TEST_CONF="$work/s3tests.conf" "$work/venv/bin/python" -m pytest s3tests/functional/test_s3.py \
    -k "($select) and not ($outside)" -q -p no:cacheprovider -rfE | tee "$work/results.txt" | tail -1
echo "results: $work/results.txt, server log: $work/server.log"
