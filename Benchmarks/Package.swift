// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so the root package's `swift build` and `swift test` never
// resolve or build package-benchmark. Run from the repository root:
//
//     swift package --package-path Benchmarks benchmark
//
// See docs/benchmarks.md for the numbers and how to read them.
let package = Package(
    name: "SignalboxBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Signalbox", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // The payloads, rule sets and per-message path shared by both runners. The rule engine's
        // types are `package` access, which SwiftPM shows only inside the Signalbox package, so access
        // control is off for the targets that drive them (as for measure-store below).
        .target(
            name: "BenchmarkFixtures",
            dependencies: [
                .product(name: "SignalboxJSON", package: "Signalbox"),
                .product(name: "SignalboxSQL", package: "Signalbox"),
            ],
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-access-control"])]
        ),
        // The package-benchmark suite (`swift package --package-path Benchmarks benchmark`).
        .executableTarget(
            name: "SignalboxBenchmarks",
            dependencies: [
                "BenchmarkFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SignalboxJSON", package: "Signalbox"),
                .product(name: "SignalboxSQL", package: "Signalbox"),
            ],
            path: "Benchmarks/SignalboxBenchmarks",
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-access-control"])],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // A plain ContinuousClock runner of the same workloads, and the binary to profile
        // (`swift run -c release --package-path Benchmarks measure`).
        .executableTarget(
            name: "measure",
            dependencies: [
                "BenchmarkFixtures",
                .product(name: "SignalboxJSON", package: "Signalbox"),
                .product(name: "SignalboxSQL", package: "Signalbox"),
            ],
            path: "Sources/Measure",
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-access-control"])]
        ),
        // Shadow store throughput and latency over SQLite
        // (`swift run -c release --package-path Benchmarks measure-store`). It drives the store through
        // `package`-access APIs, which SwiftPM shows only inside the Signalbox package (and an unsafe
        // `-package-name` loses to the one SwiftPM appends), so access control is off for this target.
        .executableTarget(
            name: "measure-store",
            dependencies: [
                .product(name: "SignalboxJSON", package: "Signalbox"),
                .product(name: "SignalboxCore", package: "Signalbox"),
                .product(name: "SignalboxStore", package: "Signalbox"),
            ],
            path: "Sources/StoreMeasure",
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-access-control"])]
        ),
        // A closed-loop HTTP load generator for the shadow API against a running `signalbox serve`
        // (`swift run -c release --package-path Benchmarks http-load --help` lists the options).
        .executableTarget(
            name: "http-load",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/HTTPLoad"
        ),
        // Load for the ingest endpoints (POST /topics/{topic} and POST /gateways/{gateway}/messages):
        // open-loop or closed-loop fridge telemetry, status counts, latency percentiles, acknowledged
        // ids for loss checks, periodic rule reloads (`bash tools/load.sh --help` lists the options).
        .executableTarget(
            name: "ingest-load",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Sources/IngestLoad"
        ),
    ],
    swiftLanguageModes: [.v6]
)
