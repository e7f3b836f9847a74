#!/usr/bin/env bash
# Builds the sample three-nation coalition (GBR, USA, AUS) with skywave-authority alone.
#
#   examples/coalition/make.sh OUTDIR
#
# OUTDIR/keys       private (0600) and public keys of every signer
# OUTDIR/trust      the three national roots (trust anchors for `verify --trust`)
# OUTDIR/artifacts  every signed artifact, named so that `ls` order is an admission order
# OUTDIR/full       the full version 2 of GBR's policy, which the delta in artifacts/ produces
#
# Credentials run from 2026-01-01 to 2030-01-01; the final check admits everything as of
# 2027-01-01 so the script gives the same answer whatever the machine's clock says.
# docs/authority.md walks through the result.
set -euo pipefail

out=${1:?usage: make.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
    echo "make.sh: $out is not empty (keys are never overwritten)" >&2
    exit 1
fi
mkdir -p "$out/keys" "$out/trust" "$out/artifacts" "$out/full"
k=$out/keys a=$out/artifacts

# SKYWAVE_AUTHORITY names an already built tool (the test suite passes its own); otherwise build it.
if [ -z "${SKYWAVE_AUTHORITY:-}" ]; then
    cargo build --quiet --manifest-path "$repo/Cargo.toml" -p skywave-tools --bin skywave-authority
    target=${CARGO_TARGET_DIR:-$repo/target}
    case $target in /*) ;; *) target=$repo/$target ;; esac
    SKYWAVE_AUTHORITY=$target/debug/skywave-authority
fi
auth() { "$SKYWAVE_AUTHORITY" "$@"; }

valid=(--not-before 2026-01-01 --not-after 2030-01-01)

for name in gbr-root usa-root aus-root gbr-signer usa-signer aus-signer usa-issuer gbr-xlate gbr-aus-liaison; do
    auth keygen --private "$k/$name.key.pem" --public "$k/$name.pub.pem"
done

# National roots: self-signed, every scope, two levels of delegation below them.
for nation in gbr usa aus; do
    domain=$(echo "$nation" | tr a-z A-Z)
    auth credential --issuer-key "$k/$nation-root.key.pem" --subject "$k/$nation-root.pub.pem" \
        --domain "$domain" --scope all --depth 2 "${valid[@]}" --out "$out/trust/$nation-root.cred"
done

# Delegated signers: each nation's policy and revocation signer.
n=1
for nation in gbr usa aus; do
    domain=$(echo "$nation" | tr a-z A-Z)
    auth credential --issuer-key "$k/$nation-root.key.pem" --subject "$k/$nation-signer.pub.pem" \
        --domain "$domain" --scope policy,revocation "${valid[@]}" --out "$a/0$n-$nation-signer.cred"
    n=$((n + 1))
done
# USA delegates credential issuing for translators to an issuer one level down.
auth credential --issuer-key "$k/usa-root.key.pem" --subject "$k/usa-issuer.pub.pem" \
    --domain USA --scope translator,issue-credential --depth 1 "${valid[@]}" --out "$a/04-usa-issuer.cred"
# GBR's translation cell: credentialed by the GBR root, and in USA by USA's issuer.
auth credential --issuer-key "$k/gbr-root.key.pem" --subject "$k/gbr-xlate.pub.pem" \
    --domain GBR --scope translator "${valid[@]}" --out "$a/05-gbr-xlate-in-gbr.cred"
auth credential --issuer-key "$k/usa-issuer.key.pem" --subject "$k/gbr-xlate.pub.pem" \
    --domain USA --scope translator "${valid[@]}" --out "$a/06-gbr-xlate-in-usa.cred"
# The GBR-AUS liaison office: credentialed by both national roots.
auth credential --issuer-key "$k/gbr-root.key.pem" --subject "$k/gbr-aus-liaison.pub.pem" \
    --domain GBR --scope translator "${valid[@]}" --out "$a/07-liaison-in-gbr.cred"
auth credential --issuer-key "$k/aus-root.key.pem" --subject "$k/gbr-aus-liaison.pub.pem" \
    --domain AUS --scope translator "${valid[@]}" --out "$a/08-liaison-in-aus.cred"

# Policies at two FMN spirals: GBR and AUS at 4, USA at 5.
auth sign-policy --key "$k/gbr-signer.key.pem" "$here/gbr-policy-v1.toml" --out "$a/10-gbr-policy-v1.pol"
auth sign-policy --key "$k/usa-signer.key.pem" "$here/usa-policy.toml" --out "$a/11-usa-policy.pol"
auth sign-policy --key "$k/aus-signer.key.pem" "$here/aus-policy.toml" --out "$a/12-aus-policy.pol"

# Translators: GBR 4 -> USA 5 bridges a spiral; GBR 4 -> AUS 4 is signed by the liaison office.
auth sign-translator --key "$k/gbr-xlate.key.pem" "$here/gbr-usa-translator.toml" --out "$a/20-gbr-usa.xlt"
auth sign-translator --key "$k/gbr-aus-liaison.key.pem" "$here/gbr-aus-translator.toml" --out "$a/21-gbr-aus.xlt"

# GBR's policy goes to version 2 as a delta (one added rule).
auth delta --key "$k/gbr-signer.key.pem" "$here/gbr-policy-v1.toml" "$here/gbr-policy-v2.toml" \
    --out "$a/30-gbr-policy-v2.delta" --full "$out/full/gbr-policy-v2.pol"

# USA revokes the GBR -> USA translator, unilaterally: its first revocation delta.
auth revoke --key "$k/usa-signer.key.pem" --domain USA --seq 1 --translator 1:1 --out "$a/40-usa-revocation-1.rev"

echo
auth verify --trust "$out/trust" --now 2027-01-01 "$a"/*
