#!/usr/bin/env bash
# Scaffolds a new handler function: writes Functions/<Type>.swift (a documented skeleton that
# compiles and works as is), lists <Type>.self in Functions/Registry.swift, and writes
# Tests/SignalboxFunctionsTests/<Type>Tests.swift (passing tests that use HandlerHarness).
#
# Usage: bash tools/new-handler.sh [--root DIR] [--] NAME
#   NAME        the name rules use in `function:`: lowercase letters and digits in parts joined by
#               single '-', starting with a letter (send-email → type SendEmail)
#   --root DIR  the repository to write into (default: the one this script is in)
#
# Then: swift build --build-tests && swift test --skip-build --filter <Type>Tests
set -euo pipefail

usage() {
    echo "usage: bash tools/new-handler.sh [--root DIR] NAME   (for example: send-email)"
}

fail() {
    echo "error: $*" >&2
    exit 1
}

root=""
name=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --root)
        [[ $# -ge 2 ]] || fail "--root needs a directory"
        root="$2"
        shift 2
        ;;
    --root=*)
        root="${1#--root=}"
        shift
        ;;
    --)
        shift
        [[ $# -le 1 ]] || fail "give one NAME"
        [[ -z "$name" && $# -eq 1 ]] || fail "give one NAME"
        name="$1"
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        usage >&2
        fail "unknown option '$1'"
        ;;
    *)
        [[ -z "$name" ]] || fail "give one NAME (got '$name' and '$1')"
        name="$1"
        shift
        ;;
    esac
done
if [[ -z "$name" ]]; then
    usage >&2
    exit 2
fi
if [[ -z "$root" ]]; then
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fi
[[ -d "$root" ]] || fail "--root '$root' is not a directory"
root="$(cd "$root" && pwd)"

# The name, and the Swift type it becomes.
if ! [[ "$name" =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] || [[ ${#name} -gt 64 ]]; then
    fail "'$name' is not a valid handler function name: it must be 1 to 64 lowercase letters and digits," \
        "starting with a letter, in parts joined by single '-' (for example send-email)"
fi
type=""
IFS='-' read -r -a parts <<<"$name"
for part in "${parts[@]}"; do
    type+="${part^}"
done

registry="$root/Functions/Registry.swift"
handler_file="$root/Functions/$type.swift"
test_dir="$root/Tests/SignalboxFunctionsTests"
test_file="$test_dir/${type}Tests.swift"

[[ -f "$registry" ]] || fail "$registry not found: is '$root' the Signalbox repository? (see --root)"
existing="$(grep -rlsF -- "static let name = \"$name\"" "$root/Functions" || true)"
[[ -z "$existing" ]] || fail "a handler function named '$name' already exists (${existing#"$root"/})"
[[ ! -e "$handler_file" ]] || fail "${handler_file#"$root"/} already exists"
[[ ! -e "$test_file" ]] || fail "${test_file#"$root"/} already exists"
if grep -qE "^[[:space:]]*$type\.self,?[[:space:]]*$" "$registry"; then
    fail "$type is already listed in Functions/Registry.swift"
fi
case "$type" in
Any | Self | Type | Protocol | String | Int | Bool | Double | Array | Dictionary | Set | Optional | Result | Error | \
    Never | Void | Duration | Task | Character | Sequence | Collection | Logger | Value | Output | Message)
    fail "the type name '$type' would hide a Swift or Signalbox type; choose another name"
    ;;
esac
for dir in "$root/Sources" "$root/Functions"; do
    [[ -d "$dir" ]] || continue
    clash="$(grep -rlsE --include='*.swift' \
        "^[[:space:]]*((public|package|internal|fileprivate|private|final)[[:space:]]+)*(struct|class|enum|protocol|actor|typealias)[[:space:]]+$type\b" \
        "$dir" || true)"
    [[ -z "$clash" ]] || fail "a type named '$type' already exists (${clash%%$'\n'*}); choose another name"
done

# Insert the registry line first (into a copy), so nothing is written when the list is not found.
registry_new="$(mktemp "${TMPDIR:-/tmp}/registry.XXXXXX")"
trap 'rm -f "$registry_new"' EXIT
if ! awk -v entry="$type.self," '
    /static let all:/ { inlist = 1 }
    inlist && /\.self,[[:space:]]*$/ { match($0, /^[[:space:]]*/); indent = substr($0, 1, RLENGTH) }
    inlist && /^[[:space:]]*\][[:space:]]*$/ {
        if (indent == "") { match($0, /^[[:space:]]*/); indent = substr($0, 1, RLENGTH) "    " }
        print indent entry
        inlist = 0
        done = 1
    }
    { print }
    END { if (!done) exit 3 }
' "$registry" >"$registry_new"; then
    fail "cannot find the list 'static let all: [...] = [ ... ]' in Functions/Registry.swift"
fi

mkdir -p "$test_dir"

cat >"$handler_file" <<EOF
import Logging
import SignalboxCore
import SignalboxJSON

/// \`$name\`: TODO say in one line what this handler function does.
///
/// \`\`\`yaml
/// - function: $name
///   with: { message: "device \${topic(2)} matched" }
/// \`\`\`
///
/// Keys under \`with:\`:
/// - \`message\` (template, required): rendered for every message; only its length is logged.
///
/// Delivery is at least once: after a retry or a restart the same invocation can come again, with
/// the same \`invocation.idempotencyKey\`; make a repeat harmless (send the key along, or check it).
/// Finish before \`invocation.deadline\`; the call is cancelled when it passes. Keep payload values
/// out of logs and error messages.
struct $type: HandlerFunction {
    static let name = "$name"

    /// Reads and checks the action's \`with:\` once, when the rules file loads. A thrown
    /// \`HandlerConfigError\` rejects the whole file and points at the key.
    ///
    /// Keep what \`invoke\` needs from \`services\` (shadows, records, http, publisher) in properties.
    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["message"])
        try config.requireKeys(["message"])
        _ = try config.isString("message")
    }

    /// Runs for every message the rule matches, with \`invocation.config\` (the \`with:\` tree,
    /// templates rendered) and \`invocation.output\` (the SELECT output).
    ///
    /// Throw \`PermanentHandlerError\` when retrying cannot help; any other error is retried as the
    /// action's \`retry:\` says, then goes to the rule's \`error_action\`.
    func invoke(_ invocation: Invocation) async throws {
        guard case .string(let message)? = invocation.config["message"], !message.isEmpty else {
            throw PermanentHandlerError("$name: 'message' rendered empty")
        }
        invocation.logger.info("handler invoked", metadata: ["handler.message_length": "\(message.count)"])
    }
}
EOF

cat >"$test_file" <<EOF
import SignalboxCore
import SignalboxJSON
import SignalboxTesting
import Testing

@testable import SignalboxFunctions

@Suite("$name")
struct ${type}Tests {
    @Test("logs one line per matched message, without the message's text")
    func invokes() async throws {
        let harness = HandlerHarness()
        let handler = try harness.build($type.self, ["message": "device \${topic(2)} is at \${temp}"])
        let outcome = await harness.invoke(
            handler, HarnessMessage(output: ["temp": 21.5], topic: "devices/d1/telemetry"))
        #expect(outcome.succeeded)
        #expect(outcome.logs.map(\.message) == ["handler invoked"])
        #expect(outcome.logs.first?.metadata["handler.message_length"] == "\("device d1 is at 21.5".count)")
    }

    @Test("an empty message fails for good")
    func emptyMessage() async throws {
        let harness = HandlerHarness()
        let handler = try harness.build($type.self, ["message": "\${missing}"])
        let outcome = await harness.invoke(handler, HarnessMessage(output: ["temp": 21.5]))
        #expect(outcome.permanentError != nil)
    }

    @Test("a misspelt key is refused with a suggestion")
    func misspeltKey() {
        let problems = HandlerHarness().rejection($type.self, ["mesage": "hello"])
        #expect(problems.first?.diagnostic.help == "did you mean 'message'?")
    }
}
EOF

cat "$registry_new" >"$registry" # keeps the file's permissions

echo "Created handler function '$name':"
echo "  Functions/$type.swift"
echo "  Tests/SignalboxFunctionsTests/${type}Tests.swift"
echo "  Functions/Registry.swift: added $type.self"
echo "Next: swift build --build-tests && swift test --skip-build --filter ${type}Tests"
