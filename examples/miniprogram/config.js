// Where paywatch-server runs. The devtools reach 127.0.0.1; a phone needs
// `make demo HOST=0.0.0.0` and this machine's LAN address here (and, in a
// released mini-program, an https/wss domain on the allow-list).
module.exports = { SERVER: "http://127.0.0.1:8080" };
