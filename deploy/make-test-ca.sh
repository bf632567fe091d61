#!/usr/bin/env bash
# A throwaway CA and a certificate for sso.gatehouse.test and idp.gatehouse.test, in
# deploy/tls/, for compose.yaml on one machine. Production uses the certificate of its
# real host name, from its usual CA; then GATEHOUSE_UPSTREAM_CA_FILE is not needed.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p tls && cd tls
openssl req -x509 -newkey rsa:3072 -nodes -days 30 -subj "/CN=Gatehouse test CA" \
    -keyout ca-key.pem -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
openssl req -newkey rsa:3072 -nodes -subj "/CN=sso.gatehouse.test" \
    -keyout key.pem -out request.pem
openssl x509 -req -in request.pem -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -out cert.pem -extfile <(printf '%s\n' \
        "subjectAltName=DNS:sso.gatehouse.test,DNS:idp.gatehouse.test" \
        "extendedKeyUsage=serverAuth")
rm -f request.pem ca.srl ca-key.pem
chmod 0644 key.pem  # read by nginx's unprivileged user inside its container
echo "deploy/tls: ca.pem, cert.pem, key.pem"
