import AsyncHTTPClient
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension AsyncHTTPClientAdapter.Failure {
    /// Describes `error`, raised while sending a request to `url`, by the URL's scheme, host and
    /// port and the reason, for example `cannot connect to http://127.0.0.1:9: connection refused`.
    ///
    /// The path, query and user information of the URL are never shown (they may hold payload values
    /// or credentials), and neither is anything of the request or response body.
    init(url: String, error: any Error) {
        let origin = Self.origin(of: url)
        if let reason = Self.connectReason(error) {
            self.init(description: "cannot connect to \(origin): \(reason)")
            return
        }
        let reason: String
        switch error {
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                self.init(description: "no response from \(origin) before the deadline")
                return
            case .remoteConnectionClosed:
                reason = "the server closed the connection before answering"
            default:
                reason = error.description
            }
        case let error as IOError:
            reason = Self.describe(errno: error.errnoCode)
        case is NIOSSLError, is BoringSSLError:
            reason = "TLS failed (\(type(of: error)))"
        default:
            reason = "\(type(of: error))"
        }
        self.init(description: "the request to \(origin) failed: \(reason)")
    }

    /// Why connecting failed, when `error` is a failure to connect; nil otherwise.
    static func connectReason(_ error: any Error) -> String? {
        switch error {
        case let error as NIOConnectionError:
            if let last = error.connectionErrors.last {
                return connectReason(last.error) ?? "\(type(of: last.error))"
            }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "the host name could not be resolved" }
            return nil
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ETIMEDOUT, EADDRNOTAVAIL, EHOSTDOWN:
                return describe(errno: error.errnoCode)
            default:
                return nil
            }
        case let error as ChannelError:
            if case .connectTimeout = error { return "connecting timed out" }
            return nil
        case let error as HTTPClientError where error == .connectTimeout:
            return "connecting timed out"
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return "the TLS handshake failed (\(type(of: error)))"
        default:
            return nil
        }
    }

    /// A lowercase description of an `errno` value: `connection refused`, `no route to host`, ….
    static func describe(errno code: CInt) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset by the server"
        case EHOSTUNREACH: return "no route to host"
        case ENETUNREACH: return "network unreachable"
        case ETIMEDOUT: return "connecting timed out"
        case EPIPE: return "the server closed the connection"
        default:
            guard let text = strerror(code) else { return "error \(code)" }
            return String(cString: text).lowercased()
        }
    }

    /// `scheme://host:port` of `url` (the port the scheme implies when none is written), without the
    /// user information, path, query or fragment; bytes outside printable ASCII are shown as `?`.
    static func origin(of url: String) -> String {
        let lowered = url.lowercased()
        let scheme = lowered.hasPrefix("https://") ? "https" : lowered.hasPrefix("http://") ? "http" : nil
        guard let scheme else { return "the URL" }
        let afterScheme = url.dropFirst(scheme.count + 3)
        let end = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        var authority = afterScheme[..<end]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let hasPort: Bool
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            hasPort = authority[close...].contains(":")
        } else {
            hasPort = authority.contains(":")
        }
        let shown = String(
            decoding: authority.utf8.prefix(255).map { (0x21...0x7E).contains($0) ? $0 : UInt8(ascii: "?") },
            as: UTF8.self)
        return "\(scheme)://\(shown)\(hasPort ? "" : scheme == "https" ? ":443" : ":80")"
    }
}
