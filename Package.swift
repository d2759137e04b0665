// swift-tools-version:6.1
import PackageDescription

// Dependencies point downwards only (see DESIGN.md §2):
//   SignalboxJSON ← SignalboxSQL ← SignalboxCore ← SignalboxConfig ← signalbox
// Storage, MQTT and the HTTP server join this graph as their modules land.
let package = Package(
    name: "Signalbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "signalbox", targets: ["signalbox"]),
        .library(name: "SignalboxJSON", targets: ["SignalboxJSON"]),
        .library(name: "SignalboxSQL", targets: ["SignalboxSQL"]),
        .library(name: "SignalboxCore", targets: ["SignalboxCore"]),
        .library(name: "SignalboxConfig", targets: ["SignalboxConfig"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "SignalboxJSON"),
        .target(name: "SignalboxSQL", dependencies: ["SignalboxJSON"]),
        .target(
            name: "SignalboxCore",
            dependencies: [
                "SignalboxJSON",
                "SignalboxSQL",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SignalboxConfig",
            dependencies: ["SignalboxCore", "SignalboxSQL", .product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "signalbox",
            dependencies: [
                "SignalboxJSON", "SignalboxSQL", "SignalboxCore", "SignalboxConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Seeded randomness shared by the property and fuzz tests.
        .target(name: "SignalboxTestSupport", path: "Tests/SignalboxTestSupport"),
        .testTarget(name: "SignalboxJSONTests", dependencies: ["SignalboxJSON", "SignalboxTestSupport"]),
        .testTarget(
            name: "SignalboxSQLTests", dependencies: ["SignalboxSQL", "SignalboxJSON", "SignalboxTestSupport"]),
        .testTarget(name: "SignalboxCoreTests", dependencies: ["SignalboxCore", "SignalboxSQL", "SignalboxJSON"]),
        .testTarget(name: "SignalboxConfigTests", dependencies: ["SignalboxConfig", "SignalboxCore"]),
        .testTarget(name: "SignalboxCLITests", dependencies: ["signalbox"], exclude: ["Golden"]),
    ],
    swiftLanguageModes: [.v6]
)
