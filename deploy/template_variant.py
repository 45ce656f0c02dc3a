"""Writes template.yaml with every optional feature switched on, as JSON.

checkov decides which conditional resources exist from the parameters'
defaults, and the defaults switch most options off, so `make test-template`
scans this variant too: the custom domain, the account's logging role, the
resource policy, CORS, streaming, reserved concurrency, log encryption, tracing
and bucket administration. Usage: template_variant.py TEMPLATE OUT.json
"""

import json
import sys

import yaml

ALL_ON = {
    "BucketOwnerAccountId": "123456789012",
    "AllowBucketAdmin": "true",
    "ResponseMode": "stream",
    "AllowedPrincipals": "arn:aws:iam::123456789012:role/reader,210987654321",
    "CorsAllowOrigins": "https://app.example.com",
    "CorsAllowCredentials": "true",
    "DomainName": "api.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f",
    "BasePath": "s3",
    "ReservedConcurrency": 50,
    "LogsKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f",
    "CreateApiGatewayLogsRole": "true",
    "Tracing": "true",
}


def main() -> None:
    source, out = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml.safe_load(f)
    parameters = template["Parameters"]
    for name, value in ALL_ON.items():
        if name not in parameters:
            sys.exit(f"{source}: no parameter {name}")
        parameters[name]["Default"] = value
    with open(out, "w", encoding="utf-8") as f:
        json.dump(template, f, indent=1)


if __name__ == "__main__":
    main()
