import Foundation
import SignalboxCore
import Testing

@testable import SignalboxLambdaHost

/// The catalog of deployed functions in a data directory: names as Lambda takes them, settings checked
/// against Lambda's limits, changes saved before they are seen, and what a restart finds.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct FunctionCatalogTests {
    @Test(
        arguments: [
            ("fn", "fn", nil), ("fn:live", "fn", "live"), ("fn:$LATEST", "fn", "$LATEST"), ("fn:12", "fn", "12"),
            ("123456789012:function:fn", "fn", nil), ("arn:aws:lambda:us-east-1:123456789012:function:fn:3", "fn", "3"),
            ("a-b_C9", "a-b_C9", nil),
        ] as [(String, String, String?)])
    func namesAreReadAsLambdaReadsThem(_ text: String, _ name: String, _ qualifier: String?) {
        let reference = FunctionReference(text)
        #expect(reference?.name == name)
        #expect(reference?.qualifier == qualifier)
    }

    @Test(arguments: [
        "", "../etc", "a/b", "fn:", "fn:a:b", "fn:../x", ":live", "fn name", String(repeating: "x", count: 65),
        "arn:aws:lambda:us-east-1:1:function:", "fn:\u{0}", "fn:$latest",
    ])
    func malformedNamesAreRefused(_ text: String) {
        #expect(FunctionReference(text) == nil)
    }

    @Test func settingsAreCheckedAgainstLambdasLimits() throws {
        var settings = FunctionSettings(runtime: "python3.12", handler: "app.handler")
        try settings.check()
        for (change, field) in [
            ({ (s: inout FunctionSettings) in s.runtime = "nodejs20.x" }, "Runtime"),
            ({ (s: inout FunctionSettings) in s.handler = "handler" }, "Handler"),
            ({ (s: inout FunctionSettings) in s.timeout = 901 }, "Timeout"),
            ({ (s: inout FunctionSettings) in s.memorySize = 64 }, "MemorySize"),
            ({ (s: inout FunctionSettings) in s.environment = ["1BAD": "x"] }, "Environment"),
            (
                { (s: inout FunctionSettings) in s.environment = ["BIG": String(repeating: "x", count: 5000)] },
                "Environment"
            ),
        ] {
            var changed = settings
            change(&changed)
            #expect(throws: FunctionCatalogError.self) { try changed.check() }
            do {
                try changed.check()
            } catch {
                #expect(error.description.hasPrefix(field))
            }
        }
        settings.runtime = "provided.al2023"
        settings.handler = "anything"
        try settings.check()
    }

    /// A zip holding `app.py`.
    static func bundle() throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "def handler(event, context):\n    return event\n".write(
            to: directory.appendingPathComponent("app.py"), atomically: true, encoding: .utf8)
        return try BundleArchive.zip(directory: directory.path)
    }

    @Test func functionsAreSavedAndFoundAgainAndUnusedCodeGoes() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let settings = FunctionSettings(runtime: "python3.12", handler: "app.handler")
        let catalog = try FunctionCatalog(dataDirectory: data.path)
        let zip = try Self.bundle()
        func store() throws -> FunctionVersion {
            let code = try catalog.storeCode(function: "fn", zip: zip, settings: settings, limits: .init())
            return FunctionVersion(
                version: "$LATEST", settings: settings, codeID: code.id, codeSHA256: code.sha256, codeSize: code.size,
                lastModified: 1, revisionID: UUID().uuidString)
        }
        let first = try store()
        try catalog.update("fn") { _ in DeployedFunction(name: "fn", latest: first) }
        #expect(throws: FunctionCatalogError.self) {
            try catalog.update("fn") { existing throws(FunctionCatalogError) in
                guard existing == nil else { throw .conflict("exists") }
                return existing
            }
        }
        // A second upload replaces $LATEST; the first code is no longer used by any version.
        let second = try store()
        try catalog.update("fn") { existing in
            var function = existing!
            function.latest = second
            return function
        }
        let codeRoot = data.appendingPathComponent("functions/fn/code").path
        #expect(try FileManager.default.contentsOfDirectory(atPath: codeRoot).count == 2)
        catalog.removeUnusedCode(of: "fn", keeping: [catalog.codeDirectory(of: "fn", first)])
        #expect(try FileManager.default.contentsOfDirectory(atPath: codeRoot).count == 2)
        catalog.removeUnusedCode(of: "fn")
        #expect(try FileManager.default.contentsOfDirectory(atPath: codeRoot) == [second.codeID])

        // A restart finds the function as saved; a code directory left by a crash is removed.
        try FileManager.default.createDirectory(
            atPath: codeRoot + "/left-by-a-crash", withIntermediateDirectories: true)
        let reopened = try FunctionCatalog(dataDirectory: data.path)
        #expect(reopened.function("fn") == catalog.function("fn"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: codeRoot) == [second.codeID])

        try reopened.update("fn") { _ in nil }
        reopened.removeUnusedCode(of: "fn")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("functions/fn").path))
        #expect(try FunctionCatalog(dataDirectory: data.path).all.isEmpty)
    }

    @Test func aBundleWithoutItsHandlerModuleIsNotStored() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let catalog = try FunctionCatalog(dataDirectory: data.path)
        #expect(throws: FunctionCatalogError.self) {
            _ = try catalog.storeCode(
                function: "fn", zip: try Self.bundle(),
                settings: FunctionSettings(runtime: "python3.12", handler: "missing.handler"), limits: .init())
        }
        let code = data.appendingPathComponent("functions/fn/code").path
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: code)) ?? []).isEmpty)
        // Refused inside a create: nothing of the function is left.
        let zip = try Self.bundle()
        #expect(throws: FunctionCatalogError.self) {
            try catalog.update("fn") { _ throws(FunctionCatalogError) in
                _ = try catalog.storeCode(
                    function: "fn", zip: zip,
                    settings: FunctionSettings(runtime: "python3.12", handler: "missing.handler"), limits: .init())
                return nil
            }
        }
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("functions/fn").path))
        #expect(catalog.function("fn") == nil)
    }
}
