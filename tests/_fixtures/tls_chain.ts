// Shared by the client TLS tests: a test CA and a leaf certificate it signed (localhost, 127.0.0.1; EC P-256,
// valid to 2036), for these tests only. Not tests/_fixtures/tls/cert.pem:
// that one is self-signed with CA:TRUE, which rustls (Deno.connectTls)
// refuses as a server certificate (CaUsedAsEndEntity), as browsers would.
// Made with openssl: `ecparam -name prime256v1 -genkey`, `req -x509` for the
// CA, then `x509 -req -CA` with basicConstraints CA:FALSE, serverAuth and
// subjectAltName=DNS:localhost,IP:127.0.0.1.
export const ca: string = `-----BEGIN CERTIFICATE-----
MIIBljCCAT2gAwIBAgIUDw2uecBImMmkTv9pW51ayuxMFVYwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOU2x1aWNlIFRlc3QgQ0EwHhcNMjYxMTI0MTgwMzEyWhcNMzYx
MTIxMTgwMzEyWjAZMRcwFQYDVQQDDA5TbHVpY2UgVGVzdCBDQTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABD0kFY8wOZyXAdcp8DpRaiRBhutRyPerWOp3bhOSDGUl
SSadPftNe5TgN200pSDeUBdy3QdcILbaHM6K2ryZ656jYzBhMB0GA1UdDgQWBBQs
Im3BC38lLxyxfBW47KUhcKpCUTAfBgNVHSMEGDAWgBQsIm3BC38lLxyxfBW47KUh
cKpCUTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAKBggqhkjOPQQD
AgNHADBEAiAW6aqWQ42QsPJqiVnUia+3189BDDDZoYabgZqnVhue5gIgGCYGfSjz
j5qunZwlGsPGRJ/ieKeFoB8XoAXFb3WnfJ8=
-----END CERTIFICATE-----
`;
export const cert: string = `-----BEGIN CERTIFICATE-----
MIIBzDCCAXKgAwIBAgIUIKEJOIZvTwIs09x6iiPmGA+V+I0wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOU2x1aWNlIFRlc3QgQ0EwHhcNMjYxMTI0MTgwMzEyWhcNMzYx
MTIxMTgwMzEyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAQ5yIQ+T2z+LLcKq7JOQA9+hM0LdBQm6aQNNeenXuY4U2lJq7lV
xC3OAy61qHKnfwXobpqZbhoVdQnu/gLJeG8So4GcMIGZMAwGA1UdEwEB/wQCMAAw
DgYDVR0PAQH/BAQDAgeAMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggrBgEFBQcDAjAa
BgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwHQYDVR0OBBYEFFjCOjH8+8JTSifj
vSDn/I7BJS97MB8GA1UdIwQYMBaAFCwibcELfyUvHLF8FbjspSFwqkJRMAoGCCqG
SM49BAMCA0gAMEUCIAI7RV1z9I53di203WMzrWdxNgLe4LeHRrty3XMB6G51AiEA
1C40L1prvGg9b2zi5KR8ZRit0U5+bT0qYNxyeTOHD2c=
-----END CERTIFICATE-----
`;
export const key: string = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwCtsf0i7m/TrrOYs
cs5ZwOeX3g7tCZk8fVmNgHuH91ehRANCAAQ5yIQ+T2z+LLcKq7JOQA9+hM0LdBQm
6aQNNeenXuY4U2lJq7lVxC3OAy61qHKnfwXobpqZbhoVdQnu/gLJeG8S
-----END PRIVATE KEY-----
`;
