#!/usr/bin/env bash
# Throwaway WeChat Pay-shaped keys for `make demo`, made fresh on every run
# in target/demo-keys/: an RSA-2048 key pair standing in for WeChat Pay's,
# a PUB_KEY_ID_, an APIv3 key and a merchant id. The demo's payer signs with
# the private key; the server verifies with the public one. Test-only: they
# belong to no merchant. Prints the server flags that use them.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/demo-keys
mkdir -p "$dir"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/private_key.pem" 2>/dev/null
openssl pkey -in "$dir/private_key.pem" -pubout -out "$dir/public_key.pem"
# 32 hex characters: the APIv3 key is 32 ASCII bytes.
openssl rand -hex 16 | tr -d '\n' >"$dir/apiv3_key.txt"
# PUB_KEY_ID_ and 32 digits (hex digits a-f folded onto 0-5).
digits=$(openssl rand -hex 16 | tr 'a-f' '0-5')
key_id="PUB_KEY_ID_${digits:0:32}"
echo "--wechatpay-mchid 1900000001" \
  "--wechatpay-apiv3-key-file $dir/apiv3_key.txt" \
  "--wechatpay-public-key-file $dir/public_key.pem" \
  "--wechatpay-public-key-id $key_id" \
  "--demo-payer $dir/private_key.pem"
