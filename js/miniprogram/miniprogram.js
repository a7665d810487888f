// `require("paywatch/miniprogram")` after the devtools' "build npm".
module.exports = require("./index.js");
