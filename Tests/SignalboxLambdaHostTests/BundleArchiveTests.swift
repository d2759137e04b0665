import Foundation
import SignalboxTestSupport
import Testing

@testable import SignalboxLambdaHost

/// Function bundles (zip archives, made here by Python's `zipfile`) unpacked with every entry checked.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct BundleArchiveTests {
    /// A zip made by Python: `entries` maps names to contents; `modes` gives Unix modes; `symlinks`
    /// names entries stored as symbolic links.
    static func zip(
        _ entries: [(String, String)], modes: [String: Int] = [:], symlinks: Set<String> = [], stored: Bool = false
    ) async throws -> [UInt8] {
        let script = """
            import io, json, sys, zipfile
            with open(sys.argv[1]) as f:
                spec = json.load(f)
            out = io.BytesIO()
            method = zipfile.ZIP_STORED if spec["stored"] else zipfile.ZIP_DEFLATED
            with zipfile.ZipFile(out, "w", method) as archive:
                for name, text in spec["entries"]:
                    info = zipfile.ZipInfo(name)
                    info.compress_type = method
                    mode = spec["modes"].get(name, 0o644)
                    if name in spec["symlinks"]:
                        mode = 0o120777
                    info.external_attr = (mode & 0xFFFF) << 16
                    archive.writestr(info, text)
            with open(sys.argv[2], "wb") as f:
                f.write(out.getvalue())
            """
        let spec: [String: Any] = [
            "entries": entries.map { [$0.0, $0.1] }, "modes": modes, "symlinks": Array(symlinks), "stored": stored,
        ]
        let directory = scratch()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let specFile = directory.appendingPathComponent("spec.json")
        let zipFile = directory.appendingPathComponent("bundle.zip")
        try JSONSerialization.data(withJSONObject: spec).write(to: specFile)
        let made = try await ProcessRunner.run("/usr/bin/python3", ["-c", script, specFile.path, zipFile.path])
        guard made.status == 0 else { throw TestFailure("python3 zipfile failed: \(made.output)") }
        let bytes = try Data(contentsOf: zipFile)
        return Array(bytes)
    }

    static func scratch() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("bundle-test-\(UUID().uuidString)")
    }

    @Test func aBundleUnpacksAndItsBootstrapRunsAsAWorker() async throws {
        let bootstrap = try String(
            contentsOf: WorkerTests.fixtures.appendingPathComponent("custom-runtime/bootstrap"), encoding: .utf8)
        let archive = try await Self.zip(
            [("bootstrap", bootstrap), ("lib/", ""), ("lib/data.txt", String(repeating: "reading ", count: 1000))],
            modes: ["bootstrap": 0o755])
        let scratch = Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let code = scratch.appendingPathComponent("code").path
        try BundleArchive.unpack(archive, into: code)
        #expect(FileManager.default.isExecutableFile(atPath: code + "/bootstrap"))
        #expect(!FileManager.default.isExecutableFile(atPath: code + "/lib/data.txt"))
        #expect(
            try String(contentsOfFile: code + "/lib/data.txt", encoding: .utf8)
                == String(repeating: "reading ", count: 1000))
        var configuration = WorkerTests.custom()
        configuration.codeDirectory = code
        try configuration.checkBundle()
        try await Worker.run(configuration, logger: WorkerTests.logger) { worker in
            let reply = try WorkerTests.json(
                try await worker.invoke(WorkerTests.invocation(#"{"echo": "zipped"}"#), timeout: .seconds(20)))
            #expect(reply["echo"] == "zipped")
        }
    }

    @Test(arguments: [
        ("../evil", "has a name that could leave the bundle"),
        ("/etc/evil", "has a name that could leave the bundle"),
        ("a/../../evil", "has a name that could leave the bundle"),
        ("a\\\\..\\\\evil", "has a name that could leave the bundle"),
        ("a//b", "has a name that could leave the bundle"),
    ])
    func anEntryThatWouldLeaveTheBundleIsRefused(_ name: String, _ message: String) async throws {
        let archive = try await Self.zip([("ok.txt", "fine"), (name, "escaped")])
        let scratch = Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let code = scratch.appendingPathComponent("code").path
        #expect {
            try BundleArchive.unpack(archive, into: code)
        } throws: { error in
            (error as? BundleArchive.Refusal)?.description.contains(message) == true
        }
        // Refused before anything was written.
        #expect(!FileManager.default.fileExists(atPath: code))
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("evil").path))
    }

    @Test func symbolicLinksAndOversizedExpansionsAreRefused() async throws {
        let scratch = Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let link = try await Self.zip([("passwd", "/etc/passwd")], symlinks: ["passwd"])
        #expect(throws: BundleArchive.Refusal("Entry 'passwd' is a symbolic link")) {
            try BundleArchive.unpack(link, into: scratch.appendingPathComponent("a").path)
        }
        // 100 KB of zeros deflate to a few hundred bytes; a 10 KB expansion limit refuses them.
        let bomb = try await Self.zip([("zeros", String(repeating: "0", count: 100_000))])
        #expect(bomb.count < 2000)
        #expect(throws: BundleArchive.Refusal("The bundle expands to more than 10000 bytes")) {
            try BundleArchive.unpack(
                bomb, into: scratch.appendingPathComponent("b").path,
                limits: BundleArchive.Limits(expandedBytes: 10_000))
        }
        #expect(throws: BundleArchive.Refusal("The bundle is \(bomb.count) bytes; the most is 100")) {
            try BundleArchive.unpack(
                bomb, into: scratch.appendingPathComponent("c").path, limits: BundleArchive.Limits(archiveBytes: 100))
        }
        #expect(throws: BundleArchive.Refusal("The bundle is not a zip archive")) {
            try BundleArchive.unpack(Array("not a zip".utf8), into: scratch.appendingPathComponent("d").path)
        }
    }

    /// An entry that expands to more than its directory record says (a zip bomb's lie) is refused.
    @Test(arguments: [false, true])
    func anEntryLargerThanDeclaredIsRefused(stored: Bool) async throws {
        var archive = try await Self.zip([("data", String(repeating: "x", count: 5000))], stored: stored)
        // Patch the central directory's uncompressed size (offset 24 of its record) down to 100.
        let record = try #require(
            (0..<(archive.count - 4)).first { archive[$0..<($0 + 4)].elementsEqual([0x50, 0x4B, 0x01, 0x02]) })
        archive[record + 24] = 100
        archive[record + 25] = 0
        archive[record + 26] = 0
        archive[record + 27] = 0
        let scratch = Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        #expect(throws: BundleArchive.Refusal("Entry 'data' does not match its size or checksum")) {
            try BundleArchive.unpack(archive, into: scratch.appendingPathComponent("code").path)
        }
    }

    @Test func aBundleWithoutWhatItsRuntimeStartsIsRefused() async throws {
        let scratch = Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let code = scratch.appendingPathComponent("code").path
        try BundleArchive.unpack(try await Self.zip([("bootstrap", "#!/bin/sh\n")]), into: code)  // not executable
        var provided = WorkerTests.custom()
        provided.codeDirectory = code
        #expect(throws: BundleArchive.Refusal.self) { try provided.checkBundle() }
        let python = WorkerConfiguration(
            functionName: "f", runtime: .python(interpreter: "/usr/bin/python3"), handler: "pkg.app.handler",
            codeDirectory: code)
        #expect(
            throws: BundleArchive.Refusal(
                "The bundle has no 'pkg/app.py' (or package 'pkg/app/') for the handler 'pkg.app.handler'")
        ) {
            try python.checkBundle()
        }
        // The layouts the runtime client reads: a module, a package, a path.
        for (file, handler) in [
            ("pkg/app.py", "pkg.app.handler"), ("pkg/app/__init__.py", "pkg.app.handler"),
            ("src/app.py", "src/app.handler"),
        ] {
            let directory = scratch.appendingPathComponent(UUID().uuidString).path
            try BundleArchive.unpack(try await Self.zip([(file, "def handler(e, c): return e\n")]), into: directory)
            try WorkerConfiguration(
                functionName: "f", runtime: .python(interpreter: "/usr/bin/python3"), handler: handler,
                codeDirectory: directory
            ).checkBundle()
        }
        for handler in ["../app.handler", "pkg..app.handler", "app.", "handler"] {
            #expect(throws: BundleArchive.Refusal.self) {
                try WorkerConfiguration(
                    functionName: "f", runtime: .python(interpreter: "/usr/bin/python3"), handler: handler,
                    codeDirectory: code
                ).checkBundle()
            }
        }
    }
}
