import CZlib
import Foundation

extension BundleArchive {
    /// A zip of the regular files under `directory` (names relative to it, `/`-separated, sorted),
    /// stored without compression, each with its Unix mode (so `bootstrap` stays executable).
    /// Symbolic links and other special files are refused, as ``unpack(_:into:limits:)`` would refuse
    /// them; hidden files and folders (`.git`, `.venv`) are left out.
    ///
    /// - Throws: ``Refusal`` for a link, a file over 4 GiB, or more than `limits` allow.
    package static func zip(directory: String, limits: Limits = Limits()) throws -> [UInt8] {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        guard let walker = FileManager.default.enumerator(atPath: root.path) else {
            throw Refusal("cannot read the directory '\(directory)'")
        }
        var names: [String] = []
        while let name = walker.nextObject() as? String {
            if name.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path)
            switch attributes[.type] as? FileAttributeType {
            case .typeRegular?: names.append(name)
            case .typeDirectory?: continue
            default: throw Refusal("'\(name)' is a link or special file; a bundle holds only files and folders")
            }
        }
        names.sort()
        guard names.count <= limits.entries else { throw Refusal("more than \(limits.entries) files") }
        var archive: [UInt8] = []
        var central: [UInt8] = []
        var expanded = 0
        for name in names {
            let path = root.appendingPathComponent(name).path
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            expanded += bytes.count
            guard bytes.count < Int(UInt32.max), expanded <= limits.expandedBytes else {
                throw Refusal("the files are larger than \(limits.expandedBytes) bytes")
            }
            let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o644
            let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
            let offset = UInt32(archive.count)
            let nameBytes = Array(name.utf8)
            // Local file header: stored, no data descriptor, UTF-8 names.
            archive += le32(0x0403_4b50) + le16(20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
            archive += le32(crc) + le32(UInt32(bytes.count)) + le32(UInt32(bytes.count))
            archive += le16(UInt16(nameBytes.count)) + le16(0) + nameBytes + bytes
            // Central directory entry, made by Unix (3) so the mode counts.
            central += le32(0x0201_4b50) + le16(0x0314) + le16(20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
            central += le32(crc) + le32(UInt32(bytes.count)) + le32(UInt32(bytes.count))
            central += le16(UInt16(nameBytes.count)) + le16(0) + le16(0) + le16(0) + le16(0)
            central += le32(UInt32(0o100000 | (mode & 0o7777)) << 16) + le32(offset) + nameBytes
        }
        let centralOffset = UInt32(archive.count)
        archive += central
        archive += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(names.count)) + le16(UInt16(names.count))
        archive += le32(UInt32(central.count)) + le32(centralOffset) + le16(0)
        guard archive.count <= limits.archiveBytes else {
            throw Refusal("the bundle is larger than \(limits.archiveBytes) bytes")
        }
        return archive
    }

    private static func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }

    private static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
    }
}
