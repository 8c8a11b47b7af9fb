#!/usr/bin/env python3
"""Print the HTTP status of each URL given on the command line."""
import argparse
import sys

import requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="*")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    failed = 0
    for url in args.urls:
        try:
            response = requests.get(url, timeout=args.timeout)
            print(f"{response.status_code} {url}")
        except requests.RequestException as error:
            print(f"ERR {url}: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
