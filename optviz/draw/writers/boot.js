/* optviz page: the player's style and script are stored deflated (a page weighs less than its GIF); this
   inflates them with the browser's own DecompressionStream and runs the player, or says why it cannot. */
(function () {
  "use strict";

  function fail(text) {
    var message = document.querySelector("#optviz .optviz-message");
    message.textContent = text;
    message.hidden = false;
  }

  if (typeof DecompressionStream !== "function") {
    fail("This browser cannot open the player (it lacks DecompressionStream: Chrome 80+, Firefox 113+, " +
         "Safari 16.4+); the picture shows the scene's surface.");
    return;
  }
  var raw = atob(document.getElementById("optviz-player").textContent), bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  new Response(stream).text().then(function (text) {
    var player = JSON.parse(text), style = document.createElement("style"), script = document.createElement("script");
    style.textContent = player.style;
    document.head.appendChild(style);
    script.textContent = player.script;
    document.body.appendChild(script);
  }).catch(function (error) {
    fail("The player could not be read: " + error);
  });
})();
