import Foundation

/// A CA and a broker certificate for `localhost` and 127.0.0.1, made with openssl in a temporary
/// directory (removed when this goes away), plus a second CA that signed nothing here.
public final class TestCertificates: Sendable {
    public let directory: String

    public var caFile: String { directory + "/ca.crt" }
    public var otherCAFile: String { directory + "/other-ca.crt" }

    /// The lines of a Mosquitto listener serving TLS with the broker certificate.
    public var brokerConfiguration: String {
        """
        cafile \(directory)/ca.crt
        certfile \(directory)/broker.crt
        keyfile \(directory)/broker.key
        """
    }

    public init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("signalbox-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
            set -e
            cd '\(directory)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj '/CN=Signalbox Test CA' 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj '/CN=localhost' 2>/dev/null
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > ext.cnf
            openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out broker.crt -days 2 -extfile ext.cnf 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.crt -days 2 -subj '/CN=Another CA' 2>/dev/null
            chmod 644 broker.key
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BrokerError("openssl failed") }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
