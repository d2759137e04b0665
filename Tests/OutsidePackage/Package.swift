// swift-tools-version:6.1
import PackageDescription

// A handler function written outside Signalbox, against its public handler API only, and tested
// with SignalboxTesting alone. `tools/test.sh` copies this package out of the repository and
// builds and tests it there, pointing SIGNALBOX_PACKAGE at the checkout; a handler author depends
// on Signalbox by URL instead.
let package = Package(
    name: "OutsideHandler",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Signalbox", path: Context.environment["SIGNALBOX_PACKAGE"] ?? "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(
            name: "Forward",
            dependencies: [
                .product(name: "SignalboxCore", package: "Signalbox"),
                .product(name: "SignalboxJSON", package: "Signalbox"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ForwardTests",
            dependencies: [
                "Forward",
                .product(name: "SignalboxCore", package: "Signalbox"),
                .product(name: "SignalboxJSON", package: "Signalbox"),
                .product(name: "SignalboxTesting", package: "Signalbox"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
