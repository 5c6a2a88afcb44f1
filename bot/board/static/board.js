// Live events of a run page: EventSource on the run's stream; the browser resends
// Last-Event-ID on reconnects, and the server closes the stream after the final event.
(function () {
  "use strict";
  var list = document.getElementById("events");
  if (!list || !window.EventSource) { return; }
  var url = list.dataset.stream;
  if (list.dataset.last) { url += "?last_event_id=" + encodeURIComponent(list.dataset.last); }
  var live = document.getElementById("live");
  var state = document.getElementById("run-state");
  var source = new EventSource(url);
  var badge = function (status) {
    var span = document.createElement("span");
    span.className = "status status-" + status;
    span.textContent = status;
    return span;
  };
  source.addEventListener("open", function () { live.hidden = false; });
  source.addEventListener("run", function (message) {
    var event = JSON.parse(message.data);
    var item = document.createElement("li");
    item.dataset.id = event.event_id;
    var time = document.createElement("time");
    time.textContent = event.timestamp.slice(11, 19);
    var phase = document.createElement("strong");
    phase.textContent = event.phase;
    item.append(time, " ", badge(event.status), " ", phase, " ", event.message);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
    if (["passed", "failed", "blocked", "complete"].indexOf(event.status) >= 0) {
      var final = event.status === "complete" ? "cancelled" : event.status;
      state.replaceChildren(badge(final));
      document.getElementById("state-detail").textContent = final + " (" + event.phase + ")";
    }
  });
  source.addEventListener("end", function () {
    source.close();
    live.textContent = "finished";
  });
}());
