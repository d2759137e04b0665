import Testing

@testable import SignalboxMQTT

/// `--mqtt` URLs: what they set, and why a bad one is refused (never echoing the password).
struct MQTTClientConfigurationTests {
    @Test func urlsSetHostPortTLSAndCredentials() throws {
        let plain = try MQTTClientConfiguration(url: "mqtt://broker.local", clientID: "sb")
        #expect(plain.host == "broker.local" && plain.port == 1883 && !plain.useTLS)
        #expect(plain.session.username == nil && plain.session.password == nil)

        let secure = try MQTTClientConfiguration(
            url: "mqtts://signal%20box:p%40ss:word@10.0.0.5:9883/", clientID: "sb", version: .v3_1_1)
        #expect(secure.host == "10.0.0.5" && secure.port == 9883 && secure.useTLS)
        #expect(secure.session.username == "signal box")
        #expect(secure.session.password == Array("p@ss:word".utf8))
        #expect(secure.session.version == .v3_1_1 && secure.session.clientID == "sb")

        let ipv6 = try MQTTClientConfiguration(url: "mqtts://[::1]", clientID: "sb")
        #expect(ipv6.host == "::1" && ipv6.port == 8883)
        let userOnly = try MQTTClientConfiguration(url: "mqtt://gw@[::1]:1884", clientID: "sb")
        #expect(userOnly.session.username == "gw" && userOnly.session.password == nil && userOnly.port == 1884)
    }

    @Test(arguments: [
        ("http://broker", "the broker URL must start with mqtt:// or mqtts://"),
        ("mqtt://", "the broker URL has no host"),
        ("mqtt://u:secret@", "the broker URL has no host"),
        ("mqtt://broker:0", "the port in the broker URL must be a number from 1 to 65535"),
        ("mqtt://broker:99999", "the port in the broker URL must be a number from 1 to 65535"),
        ("mqtt://broker:x", "the port in the broker URL must be a number from 1 to 65535"),
        ("mqtt://broker/topic", "the broker URL takes no path"),
        ("mqtt://u:bad%zz@broker", "the password in the broker URL is not valid percent-encoded UTF-8"),
        ("mqtt://[::1", "unclosed [ in the broker URL"),
    ])
    func badURLsAreRefusedWithTheReason(_ url: String, _ message: String) {
        #expect(throws: MQTTURLError(message)) { try MQTTClientConfiguration(url: url, clientID: "sb") }
    }
}
