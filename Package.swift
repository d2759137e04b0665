// swift-tools-version:6.1
import PackageDescription

// Dependencies point downwards only (see DESIGN.md §2):
//   SignalboxJSON ← SignalboxSQL ← SignalboxCore ← SignalboxRuntime, SignalboxShadows, SignalboxConfig,
//     SignalboxStore, SignalboxFunctions ← SignalboxServer ← signalbox
//   SignalboxMQTT (NIO only) ← SignalboxServer
//   SignalboxCore ← SignalboxLambdaHost (deployed functions) ← SignalboxServer
let package = Package(
    name: "Signalbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "signalbox", targets: ["signalbox"]),
        .library(name: "SignalboxJSON", targets: ["SignalboxJSON"]),
        .library(name: "SignalboxSQL", targets: ["SignalboxSQL"]),
        .library(name: "SignalboxCore", targets: ["SignalboxCore"]),
        .library(name: "SignalboxRuntime", targets: ["SignalboxRuntime"]),
        .library(name: "SignalboxShadows", targets: ["SignalboxShadows"]),
        .library(name: "SignalboxConfig", targets: ["SignalboxConfig"]),
        .library(name: "SignalboxStore", targets: ["SignalboxStore"]),
        .library(name: "SignalboxMQTT", targets: ["SignalboxMQTT"]),
        .library(name: "SignalboxServer", targets: ["SignalboxServer"]),
        // In-memory implementations of the ports and the handler harness, for tests only.
        .library(name: "SignalboxTesting", targets: ["SignalboxTesting"]),
        // A Lambda runtime client for Swift functions (a provided runtime's bootstrap); Foundation only.
        .library(name: "SignalboxLambdaRuntime", targets: ["SignalboxLambdaRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "SignalboxJSON"),
        .target(
            name: "SignalboxSQL",
            dependencies: ["SignalboxJSON", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "SignalboxCore",
            dependencies: [
                "SignalboxJSON",
                "SignalboxSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The Device Shadow service: the document engine and the service over the ShadowStorage port.
        .target(
            name: "SignalboxShadows",
            dependencies: [
                "SignalboxCore", "SignalboxJSON", "SignalboxSQL", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The rules runtime: ingest, lanes, actions, checkpoints, reloads, as ServiceLifecycle services.
        .target(
            name: "SignalboxRuntime",
            dependencies: [
                "SignalboxCore", "SignalboxJSON", "SignalboxSQL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "SignalboxTesting",
            dependencies: [
                "SignalboxCore", "SignalboxShadows", "SignalboxJSON", "SignalboxSQL", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Handler functions: the built-ins and every user-written one, one file each, listed in
        // Functions/Registry.swift. They see Core only.
        .target(
            name: "SignalboxFunctions",
            dependencies: [
                "SignalboxCore", "SignalboxJSON", "SignalboxSQL",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Functions"
        ),
        .target(
            name: "SignalboxConfig",
            dependencies: [
                "SignalboxCore", "SignalboxSQL", .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "SignalboxStore",
            dependencies: [
                "SignalboxJSON", "SignalboxCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The MQTT 3.1.1/5.0 client: packet codec, protocol state machine, NIO handlers.
        .target(
            name: "SignalboxMQTT",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // zlib, for the deflate streams of function bundles (zip).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Deployed functions: workers running functions through the AWS Lambda Runtime API.
        .target(name: "SignalboxLambdaRuntime"),
        .target(
            name: "SignalboxLambdaHost",
            dependencies: [
                "CZlib", "SignalboxCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SignalboxServer",
            dependencies: [
                "SignalboxJSON", "SignalboxSQL", "SignalboxCore", "SignalboxRuntime", "SignalboxShadows", "SignalboxConfig",
                "SignalboxMQTT", "SignalboxLambdaHost",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "signalbox",
            dependencies: [
                "SignalboxJSON", "SignalboxSQL", "SignalboxCore", "SignalboxRuntime", "SignalboxShadows", "SignalboxConfig",
                "SignalboxStore", "SignalboxServer", "SignalboxMQTT", "SignalboxFunctions", "SignalboxLambdaHost",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeded randomness shared by the property and fuzz tests.
        .target(name: "SignalboxTestSupport", path: "Tests/SignalboxTestSupport"),
        .testTarget(name: "SignalboxJSONTests", dependencies: ["SignalboxJSON", "SignalboxTestSupport"]),
        .testTarget(
            name: "SignalboxSQLTests", dependencies: ["SignalboxSQL", "SignalboxJSON", "SignalboxTestSupport"]),
        .testTarget(
            name: "SignalboxCoreTests",
            dependencies: [
                "SignalboxCore", "SignalboxSQL", "SignalboxJSON", "SignalboxTesting",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SignalboxShadowsTests",
            dependencies: ["SignalboxShadows", "SignalboxCore", "SignalboxSQL", "SignalboxJSON", "SignalboxTesting"]
        ),
        .testTarget(
            name: "SignalboxRuntimeTests",
            dependencies: [
                "SignalboxRuntime", "SignalboxCore", "SignalboxSQL", "SignalboxJSON", "SignalboxTesting",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SignalboxFunctionsTests",
            dependencies: ["SignalboxFunctions", "SignalboxCore", "SignalboxSQL", "SignalboxJSON", "SignalboxTesting"]
        ),
        .testTarget(
            name: "SignalboxMQTTTests",
            dependencies: [
                "SignalboxMQTT", "SignalboxTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SignalboxConfigTests", dependencies: ["SignalboxConfig", "SignalboxCore"]),
        .testTarget(
            name: "SignalboxStoreTests",
            dependencies: [
                "SignalboxStore", "SignalboxCore", "SignalboxShadows", "SignalboxJSON", "SignalboxTestSupport",
                "SignalboxTesting", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "SignalboxLambdaHostTests",
            dependencies: [
                "SignalboxLambdaHost", "SignalboxJSON", "SignalboxTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SignalboxServerTests",
            dependencies: [
                "SignalboxServer", "SignalboxStore", "SignalboxCore", "SignalboxShadows",
                "SignalboxJSON", "SignalboxFunctions", "SignalboxSQL", "SignalboxTesting", "SignalboxTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SignalboxCLITests", dependencies: ["signalbox", "SignalboxTestSupport"], exclude: ["Golden"]),
    ],
    swiftLanguageModes: [.v6]
)
