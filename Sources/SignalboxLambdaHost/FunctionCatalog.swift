import Crypto
import Foundation
import SignalboxCore
import Synchronization

/// A deployed function's settings, as Lambda's `FunctionConfiguration` has them.
package struct FunctionSettings: Codable, Sendable, Hashable {
    /// `provided`, `provided.al2`, `provided.al2023` or `python3.9` … `python3.13`.
    package var runtime: String
    /// `module.function` for Python; free (passed as `_HANDLER`) for `provided`.
    package var handler: String
    package var description: String = ""
    /// Seconds, 1–900 (Lambda's default: 3).
    package var timeout: Int = 3
    /// MB, 128–10,240 (Lambda's default: 128).
    package var memorySize: Int = 128
    package var environment: [String: String] = [:]
    /// Kept and shown as given; Signalbox has no IAM.
    package var role: String = ""

    package init(runtime: String, handler: String) {
        self.runtime = runtime
        self.handler = handler
    }

    /// The runtimes Signalbox runs.
    package static let runtimes: Set<String> = [
        "provided", "provided.al2", "provided.al2023", "python3.9", "python3.10", "python3.11", "python3.12",
        "python3.13",
    ]

    /// Whether `other` runs the same way: everything but the description equal.
    package func sameCode(as other: FunctionSettings) -> Bool {
        var other = other
        other.description = description
        return self == other
    }

    /// Checks every field against Lambda's limits; the message names the field.
    package func check() throws(FunctionCatalogError) {
        guard Self.runtimes.contains(runtime) else {
            throw .invalid(
                "Runtime must be one of \(Self.runtimes.sorted().joined(separator: ", ")); got '\(LogText.escaped(String(runtime.prefix(64))))'"
            )
        }
        guard (1...128).contains(handler.utf8.count), !handler.contains(where: \.isNewline) else {
            throw .invalid("Handler must be 1 to 128 characters on one line")
        }
        if runtime.hasPrefix("python") {
            let parts = handler.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else {
                throw .invalid("Handler of a Python function must be module.function (for example app.handler)")
            }
        }
        guard (1...900).contains(timeout) else { throw .invalid("Timeout must be 1 to 900 seconds") }
        guard (128...10_240).contains(memorySize) else { throw .invalid("MemorySize must be 128 to 10240 MB") }
        guard description.utf8.count <= 256 else { throw .invalid("Description must be at most 256 characters") }
        let environmentBytes = environment.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard environmentBytes <= 4096 else { throw .invalid("Environment variables must total at most 4 KB") }
        for key in environment.keys {
            guard let first = key.unicodeScalars.first, first.properties.isAlphabetic && first.isASCII,
                key.unicodeScalars.allSatisfy({
                    $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0))
                })
            else { throw .invalid("Environment variable names must match [a-zA-Z][a-zA-Z0-9_]*") }
        }
    }
}

/// One version of a function: `$LATEST` (changed by updates) or a published, immutable number.
package struct FunctionVersion: Codable, Sendable, Hashable {
    /// `$LATEST` or `1`, `2`, …
    package var version: String
    package var settings: FunctionSettings
    /// The unpacked code: a directory name under the function's `code` directory, never changed.
    package var codeID: String
    /// SHA-256 of the deployed zip, base64 (Lambda's `CodeSha256`).
    package var codeSHA256: String
    /// Bytes of the deployed zip.
    package var codeSize: Int
    /// Milliseconds since the epoch.
    package var lastModified: Int64
    /// Changes with every update, as Lambda's `RevisionId`.
    package var revisionID: String

    package init(
        version: String, settings: FunctionSettings, codeID: String, codeSHA256: String, codeSize: Int,
        lastModified: Int64, revisionID: String
    ) {
        self.version = version
        self.settings = settings
        self.codeID = codeID
        self.codeSHA256 = codeSHA256
        self.codeSize = codeSize
        self.lastModified = lastModified
        self.revisionID = revisionID
    }
}

/// An alias: a name for a version.
package struct FunctionAlias: Codable, Sendable, Hashable {
    package var name: String
    package var functionVersion: String
    package var description: String
    package var revisionID: String

    package init(name: String, functionVersion: String, description: String, revisionID: String) {
        self.name = name
        self.functionVersion = functionVersion
        self.description = description
        self.revisionID = revisionID
    }
}

/// A deployed function: `$LATEST`, its published versions and its aliases.
package struct DeployedFunction: Codable, Sendable, Hashable {
    package var name: String
    package var latest: FunctionVersion
    /// Published versions, oldest first.
    package var published: [FunctionVersion] = []
    package var aliases: [String: FunctionAlias] = [:]
    /// The number the next published version gets.
    package var nextVersion = 1
    /// Most workers at once (`PutFunctionConcurrency`); nil: the host's default.
    package var reservedConcurrency: Int?

    /// A new function with only `$LATEST`.
    package init(name: String, latest: FunctionVersion) {
        self.name = name
        self.latest = latest
    }

    /// The version `qualifier` names: nil or `$LATEST`, a version number, or an alias.
    package func version(_ qualifier: String?) -> FunctionVersion? {
        guard let qualifier, qualifier != "$LATEST" else { return latest }
        if let alias = aliases[qualifier] { return version(alias.functionVersion) }
        return published.first { $0.version == qualifier }
    }

    /// Every code directory a version still uses.
    var codeIDs: Set<String> { Set([latest.codeID] + published.map(\.codeID)) }
}

/// Why the catalog refused a change.
package enum FunctionCatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A field is invalid (`InvalidParameterValueException`).
    case invalid(String)
    /// No such function, version or alias (`ResourceNotFoundException`).
    case notFound(String)
    /// It exists already (`ResourceConflictException`).
    case conflict(String)
    /// The `RevisionId` given is not the current one (`PreconditionFailedException`).
    case preconditionFailed(String)
    /// The data directory could not be written.
    case storage(String)

    package var description: String {
        switch self {
        case .invalid(let message), .notFound(let message), .conflict(let message), .preconditionFailed(let message),
            .storage(let message):
            message
        }
    }
}

/// The deployed functions, kept in the data directory so that they run again after a restart:
/// `functions/NAME/function.json` (settings, versions, aliases; replaced atomically) and
/// `functions/NAME/code/ID/` (each uploaded bundle, unpacked once and never changed, so a worker of
/// an older version keeps its files while a new version starts).
package final class FunctionCatalog: Sendable {
    /// `functions` in the data directory.
    package let directory: String
    private let functions: Mutex<[String: DeployedFunction]>
    /// Serialises changes (the file writes happen outside the state lock).
    private let writer = Mutex(())

    /// Opens the catalog in `dataDirectory/functions`, creating it, and loads every function. Code
    /// directories no version uses (left by a crash during an update) are removed.
    package init(dataDirectory: String) throws(FunctionCatalogError) {
        directory = (dataDirectory as NSString).appendingPathComponent("functions")
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .storage("cannot create the functions directory: \(error.localizedDescription)")
        }
        var loaded: [String: DeployedFunction] = [:]
        var problems: [String] = []
        let names = (try? files.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where FunctionReference.isName(name) {
            let file = (directory as NSString).appendingPathComponent("\(name)/function.json")
            guard let data = files.contents(atPath: file) else {
                // A create that did not finish: nothing was ever acknowledged for it.
                try? files.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
                continue
            }
            do {
                let function = try JSONDecoder().decode(DeployedFunction.self, from: data)
                loaded[name] = function
                Self.removeUnusedCode(of: name, used: function.codeIDs, in: directory)
            } catch {
                // One damaged function does not keep the others (or the server) from starting.
                problems.append(
                    "functions/\(name)/function.json cannot be read (\(type(of: error))); the function is not loaded")
            }
        }
        functions = Mutex(loaded)
        self.problems = problems
    }

    /// What could not be loaded, for the log.
    package let problems: [String]

    /// Every function, by name.
    package var all: [DeployedFunction] { functions.withLock { $0.values.sorted { $0.name < $1.name } } }

    /// The function `name`.
    package func function(_ name: String) -> DeployedFunction? { functions.withLock { $0[name] } }

    /// The unpacked code of `version`.
    package func codeDirectory(of function: String, _ version: FunctionVersion) -> String {
        (directory as NSString).appendingPathComponent("\(function)/code/\(version.codeID)")
    }

    /// Unpacks `zip` into a new code directory of `function` and checks it for `settings`; returns
    /// the code's id, digest and size.
    package func storeCode(
        function: String, zip: [UInt8], settings: FunctionSettings, limits: BundleArchive.Limits
    ) throws(FunctionCatalogError) -> (id: String, sha256: String, size: Int) {
        let id = UUID().uuidString.lowercased()
        let code = (directory as NSString).appendingPathComponent("\(function)/code/\(id)")
        do {
            try BundleArchive.unpack(zip, into: code, limits: limits)
            let check = WorkerConfiguration(
                functionName: function,
                runtime: settings.runtime.hasPrefix("python") ? .python(interpreter: "") : .provided,
                handler: settings.handler, codeDirectory: code)
            try check.checkBundle()
        } catch let refusal as BundleArchive.Refusal {
            try? FileManager.default.removeItem(atPath: code)
            throw .invalid(refusal.description)
        } catch {
            try? FileManager.default.removeItem(atPath: code)
            throw .storage("the bundle could not be stored: \(error.localizedDescription)")
        }
        let digest = Data(SHA256.hash(data: zip)).base64EncodedString()
        return (id, digest, zip.count)
    }

    /// Applies `change` to the function `name` (nil when it does not exist yet; returning nil deletes
    /// it) and saves the result before anyone sees it.
    @discardableResult
    package func update(
        _ name: String, _ change: (DeployedFunction?) throws(FunctionCatalogError) -> DeployedFunction?
    ) throws(FunctionCatalogError) -> DeployedFunction? {
        try writer.withLock { _ throws(FunctionCatalogError) -> DeployedFunction? in
            let current = functions.withLock { $0[name] }
            let folder = (directory as NSString).appendingPathComponent(name)
            let changed: DeployedFunction?
            do throws(FunctionCatalogError) {
                changed = try change(current)
            } catch {
                // A create that was refused (its bundle, say) leaves nothing behind.
                if current == nil { try? FileManager.default.removeItem(atPath: folder) }
                throw error
            }
            if let changed {
                try save(changed, in: folder)
            } else if current != nil {
                // The record first: a crash then leaves only files the next start removes.
                let file = (folder as NSString).appendingPathComponent("function.json")
                try? FileManager.default.removeItem(atPath: file)
            }
            functions.withLock { $0[name] = changed }
            return changed
        }
    }

    /// Removes the code directories of `function` that no version uses and that are not in `inUse`
    /// (the code directories of workers still running); all of it once it is deleted and nothing runs.
    package func removeUnusedCode(of name: String, keeping inUse: Set<String> = []) {
        writer.withLock { _ in
            let folder = (directory as NSString).appendingPathComponent(name)
            let function = self.function(name)
            if function == nil && inUse.isEmpty {
                try? FileManager.default.removeItem(atPath: folder)
                return
            }
            Self.removeUnusedCode(of: name, used: function?.codeIDs ?? [], keeping: inUse, in: directory)
        }
    }

    private static func removeUnusedCode(
        of name: String, used: Set<String>, keeping inUse: Set<String> = [], in directory: String
    ) {
        let code = (directory as NSString).appendingPathComponent("\(name)/code")
        for id in (try? FileManager.default.contentsOfDirectory(atPath: code)) ?? [] where !used.contains(id) {
            let path = (code as NSString).appendingPathComponent(id)
            if !inUse.contains(path) { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    private func save(_ function: DeployedFunction, in folder: String) throws(FunctionCatalogError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let data = try encoder.encode(function)
            let file = (folder as NSString).appendingPathComponent("function.json")
            let temporary = file + ".tmp"
            guard FileManager.default.createFile(atPath: temporary, contents: data) else {
                throw FunctionCatalogError.storage("cannot write \(temporary)")
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, file) == 0 else { throw FunctionCatalogError.storage("cannot replace \(file)") }
            // The rename itself lasts once the directory is synced.
            let directory = open(folder, O_RDONLY | O_DIRECTORY)
            if directory >= 0 {
                _ = fsync(directory)
                _ = close(directory)
            }
        } catch let error as FunctionCatalogError {
            throw error
        } catch {
            throw .storage("the function could not be saved: \(error.localizedDescription)")
        }
    }
}
