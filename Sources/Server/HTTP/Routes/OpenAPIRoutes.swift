import Hummingbird

/// GET /openapi.json: the server's OpenAPI 3.1 contract (Sources/Server/OpenAPI/openapi.json,
/// written by tools/gen-openapi, compiled into the binary). Served without the API key: it
/// describes the routes and holds no secret.
struct OpenAPIRoutes {
    static let path = "/openapi.json"

    func register(on router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.path)) { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
        }
    }
}
