#!/usr/bin/env bash
# Scaffolds a deployed Swift function: a Swift package outside this repository's sources whose
# executable, built as `bootstrap`, is a Lambda `provided` runtime on SignalboxLambdaRuntime.
#
# Usage: bash tools/new-function.sh NAME [DIR]
#   NAME  the function's name: a letter, then up to 63 letters, digits, '-' or '_'
#   DIR   where to create the package (default: ./NAME); it must not exist
#
# Then, in DIR:
#   bash build.sh                  # release build; .build/lambda/bootstrap (and bootstrap.zip if zip exists)
#   signalbox functions deploy NAME --dir .build/lambda --runtime provided.al2023 --handler NAME
set -euo pipefail

fail() {
    echo "error: $*" >&2
    exit 1
}

[[ $# -ge 1 && $# -le 2 ]] || fail "usage: bash tools/new-function.sh NAME [DIR]"
name="$1"
dir="${2:-$name}"
[[ "$name" =~ ^[A-Za-z][A-Za-z0-9_-]{0,63}$ ]] ||
    fail "NAME must be a letter, then up to 63 letters, digits, '-' or '_'"
# Functions/ holds the compiled-in handlers; a folder differing from it only by case confuses
# case-insensitive file systems and readers alike.
[[ "$(basename "$dir" | tr '[:upper:]' '[:lower:]')" != "functions" ]] ||
    fail "choose another directory name than '$(basename "$dir")' (Functions/ holds the compiled-in handlers)"
[[ ! -e "$dir" ]] || fail "'$dir' exists already"

root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$dir/Sources/$name"

cat >"$dir/Package.swift" <<EOF
// swift-tools-version:6.1
import PackageDescription

// A Signalbox deployed function: its executable, built as \`bootstrap\`, is a Lambda provided runtime.
// To run it on AWS Lambda instead, depend on swift-aws-lambda-runtime's AWSLambdaRuntime.
let package = Package(
    name: "$name",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Signalbox", path: "$root")
    ],
    targets: [
        .executableTarget(
            name: "$name",
            dependencies: [.product(name: "SignalboxLambdaRuntime", package: "Signalbox")]
        )
    ],
    swiftLanguageModes: [.v6]
)
EOF

cat >"$dir/Sources/$name/main.swift" <<'EOF'
import SignalboxLambdaRuntime

/// The event: a rule's SELECT output, or what `signalbox functions invoke --payload` sends.
struct Reading: Decodable {
    var temp: Double?
}

/// The result, returned as JSON.
struct Verdict: Encodable {
    var alarm: Bool
    var requestID: String
}

let runtime = LambdaRuntime { (reading: Reading, context: LambdaContext) in
    Verdict(alarm: (reading.temp ?? 0) > 8, requestID: context.requestID)
}
try await runtime.run()
EOF

cat >"$dir/build.sh" <<EOF
#!/usr/bin/env bash
# Builds .build/lambda/bootstrap (a static release executable) for a provided runtime.
# Usage: bash build.sh [-c debug|release]
set -euo pipefail
cd "\$(dirname "\$0")"
configuration=release
if [[ "\${1:-}" == "-c" ]]; then configuration="\${2:?-c needs debug or release}"; fi
swift build -c "\$configuration" --static-swift-stdlib --product "$name"
mkdir -p .build/lambda
cp "\$(swift build -c "\$configuration" --show-bin-path)/$name" .build/lambda/bootstrap
echo "built .build/lambda/bootstrap; deploy it with:"
echo "  signalbox functions deploy $name --dir .build/lambda --runtime provided.al2023 --handler $name"
EOF
chmod +x "$dir/build.sh"
printf '.build/\nPackage.resolved\n' >"$dir/.gitignore"
echo "created the function package $dir; build it with: bash $dir/build.sh"
