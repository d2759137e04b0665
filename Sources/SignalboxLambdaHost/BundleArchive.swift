import CZlib
import Foundation

/// A function bundle as deployed: a zip archive, read and unpacked with every entry checked, so that
/// no entry lands outside the bundle's directory and no archive expands past its limits.
///
/// Entries may be stored or deflated; an entry must expand to exactly the size and CRC-32 its
/// directory record declares. Refused: zip64, encrypted entries, symbolic links, names that are
/// absolute, contain `..`, a backslash or a NUL, and archives or expansions over the limits.
package enum BundleArchive {
    /// The limits of a bundle, as Lambda's: 50 MB zipped (a direct upload), 250 MB unzipped.
    package struct Limits: Sendable {
        /// The largest archive, in bytes.
        package var archiveBytes: Int
        /// The most all entries may expand to, in bytes.
        package var expandedBytes: Int
        /// The most entries.
        package var entries: Int

        /// Limits.
        package init(archiveBytes: Int = 50_000_000, expandedBytes: Int = 250_000_000, entries: Int = 10_000) {
            self.archiveBytes = archiveBytes
            self.expandedBytes = expandedBytes
            self.entries = entries
        }
    }

    /// Why a bundle was refused; the message names the entry, escaped, never its content.
    package struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        package var description: String
        init(_ description: String) { self.description = description }
    }

    /// One entry of the archive's central directory.
    struct Entry {
        var name: String
        var method: UInt16
        var flags: UInt16
        var crc: UInt32
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
        var mode: UInt32
    }

    /// Unpacks `archive` into the directory `destination`, which is created (with its parents) and
    /// must not exist.
    ///
    /// - Throws: ``Refusal`` for an archive that is not a valid, safe bundle within `limits`; file
    ///   system errors as they come.
    package static func unpack(_ archive: [UInt8], into destination: String, limits: Limits = Limits()) throws {
        guard archive.count <= limits.archiveBytes else {
            throw Refusal("The bundle is \(archive.count) bytes; the most is \(limits.archiveBytes)")
        }
        let entries = try directory(of: archive, limits: limits)
        let root = URL(fileURLWithPath: destination, isDirectory: true)
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw Refusal("The bundle's directory exists already")
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for entry in entries {
            let target = root.appendingPathComponent(entry.name)
            if entry.name.hasSuffix("/") {
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
                continue
            }
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            let bytes = try contents(of: entry, in: archive)
            guard FileManager.default.createFile(atPath: target.path, contents: Data(bytes)) else {
                throw Refusal("Entry '\(escaped(entry.name))' could not be written")
            }
            // Owner read and write always; execute when the archive says so (a `bootstrap`).
            let executable = entry.mode & 0o111 != 0
            try FileManager.default.setAttributes(
                [.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: target.path)
        }
    }

    /// The central directory's entries, every one checked.
    static func directory(of archive: [UInt8], limits: Limits) throws -> [Entry] {
        // The end-of-central-directory record: 22 bytes, then a comment of up to 65,535.
        let earliest = max(0, archive.count - 22 - 65_535)
        guard archive.count >= 22,
            let end = stride(from: archive.count - 22, through: earliest, by: -1).first(where: {
                read32(archive, $0) == 0x0605_4b50
            })
        else {
            throw Refusal("The bundle is not a zip archive")
        }
        let count = Int(read16(archive, end + 10))
        let directorySize = Int(read32(archive, end + 12))
        let directoryOffset = Int(read32(archive, end + 16))
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw Refusal("Zip64 archives are not supported")
        }
        guard count <= limits.entries else {
            throw Refusal("The bundle has \(count) entries; the most is \(limits.entries)")
        }
        guard directoryOffset + directorySize <= end else { throw Refusal("The zip directory is damaged") }
        var entries: [Entry] = []
        var names = Set<String>()
        var expanded = 0
        var offset = directoryOffset
        for _ in 0..<count {
            guard offset + 46 <= end, read32(archive, offset) == 0x0201_4b50 else {
                throw Refusal("The zip directory is damaged")
            }
            let nameLength = Int(read16(archive, offset + 28))
            let extraLength = Int(read16(archive, offset + 30))
            let commentLength = Int(read16(archive, offset + 32))
            guard offset + 46 + nameLength <= end else { throw Refusal("The zip directory is damaged") }
            let nameBytes = Array(archive[(offset + 46)..<(offset + 46 + nameLength)])
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw Refusal("An entry's name is not UTF-8")
            }
            let entry = Entry(
                name: name, method: read16(archive, offset + 10), flags: read16(archive, offset + 8),
                crc: read32(archive, offset + 16), compressedSize: Int(read32(archive, offset + 20)),
                size: Int(read32(archive, offset + 24)), localHeaderOffset: Int(read32(archive, offset + 42)),
                mode: read32(archive, offset + 38) >> 16)
            try check(entry)
            guard names.insert(entry.name).inserted else {
                throw Refusal("Entry '\(escaped(entry.name))' appears twice")
            }
            expanded += entry.size
            guard expanded <= limits.expandedBytes else {
                throw Refusal("The bundle expands to more than \(limits.expandedBytes) bytes")
            }
            entries.append(entry)
            offset += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    /// Refuses an entry that would escape the bundle or that this reader does not handle.
    static func check(_ entry: Entry) throws {
        let name = entry.name
        let label = "Entry '\(escaped(name))'"
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\\"), !name.utf8.contains(0) else {
            throw Refusal("\(label) has a name that could leave the bundle")
        }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).dropLast(name.hasSuffix("/") ? 1 : 0)
        guard !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw Refusal("\(label) has a name that could leave the bundle")
        }
        guard entry.flags & 1 == 0 else { throw Refusal("\(label) is encrypted") }
        guard entry.mode & 0o170000 != 0o120000 else { throw Refusal("\(label) is a symbolic link") }
        guard entry.method == 0 || entry.method == 8 else {
            throw Refusal("\(label) uses compression method \(entry.method); only stored and deflated entries are read")
        }
        if entry.size == 0xFFFF_FFFF || entry.compressedSize == 0xFFFF_FFFF {
            throw Refusal("Zip64 archives are not supported")
        }
    }

    /// The entry's bytes, expanded and checked against its declared size and CRC-32.
    static func contents(of entry: Entry, in archive: [UInt8]) throws -> [UInt8] {
        let header = entry.localHeaderOffset
        guard header + 30 <= archive.count, read32(archive, header) == 0x0403_4b50 else {
            throw Refusal("Entry '\(escaped(entry.name))' is damaged")
        }
        let start = header + 30 + Int(read16(archive, header + 26)) + Int(read16(archive, header + 28))
        guard start + entry.compressedSize <= archive.count else {
            throw Refusal("Entry '\(escaped(entry.name))' is damaged")
        }
        let compressed = archive[start..<(start + entry.compressedSize)]
        let bytes = entry.method == 0 ? Array(compressed) : try inflate(compressed, size: entry.size, name: entry.name)
        let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        guard bytes.count == entry.size, crc == entry.crc else {
            throw Refusal("Entry '\(escaped(entry.name))' does not match its size or checksum")
        }
        return bytes
    }

    /// Expands a raw deflate stream to exactly `size` bytes; more is refused (a zip bomb's lie).
    static func inflate(_ compressed: ArraySlice<UInt8>, size: Int, name: String) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: size + 1)  // one more, to notice a stream that is longer
        var input = Array(compressed)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Refusal("Entry '\(escaped(name))' could not be expanded")
        }
        defer { inflateEnd(&stream) }
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == size else {
            throw Refusal("Entry '\(escaped(name))' does not match its size or checksum")
        }
        output.removeLast()
        return output
    }

    private static func read16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func read32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(read16(bytes, offset)) | UInt32(read16(bytes, offset + 2)) << 16
    }

    /// `text` with control characters and quotes escaped, for messages.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "'", "\\": out += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += "\\u{\(String(scalar.value, radix: 16))}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension WorkerConfiguration {
    /// Checks that the unpacked bundle has what the runtime starts: an executable `bootstrap` for
    /// `provided`, the handler's module (`pkg.module.function` → `pkg/module.py`) for Python.
    package func checkBundle() throws(BundleArchive.Refusal) {
        let root = URL(fileURLWithPath: codeDirectory, isDirectory: true)
        switch runtime {
        case .provided:
            let bootstrap = root.appendingPathComponent("bootstrap").path
            guard FileManager.default.isExecutableFile(atPath: bootstrap) else {
                throw BundleArchive.Refusal(
                    "The bundle has no executable 'bootstrap' at its root, which a provided runtime runs")
            }
        case .python:
            // As the runtime client reads it: MODULE.FUNCTION, the module's parts separated by `.` or
            // `/` (`pkg.app.handler`, `src/app.handler`), a file MODULE.py or a package MODULE/__init__.py.
            guard let dot = handler.lastIndex(of: "."), handler.index(after: dot) < handler.endIndex else {
                throw BundleArchive.Refusal(
                    "The handler '\(BundleArchive.escaped(handler))' is not module.function, like app.handler")
            }
            let parts = handler[..<dot].split(separator: /[.\/]/, omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0 != ".." }) else {
                throw BundleArchive.Refusal(
                    "The handler '\(BundleArchive.escaped(handler))' is not module.function, like app.handler")
            }
            let module = parts.joined(separator: "/")
            let files = [module + ".py", module + "/__init__.py"]
            guard
                files.contains(where: { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) })
            else {
                throw BundleArchive.Refusal(
                    "The bundle has no '\(BundleArchive.escaped(module)).py' (or package '\(BundleArchive.escaped(module))/') for the handler '\(BundleArchive.escaped(handler))'"
                )
            }
        }
    }
}
