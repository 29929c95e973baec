/*
 * Resumable evidence uploads from a page, over OneStory's tus endpoint (/api/evidence/uploads).
 *
 * Without this script the form still posts normally; with it, a form marked data-tus-upload
 * sends its file in 8 MiB PATCHes, and after a dropped connection asks the server (HEAD) how
 * much arrived and carries on from there, so a multi-gigabyte video survives a flaky network.
 *
 * Markup it expects (names are the tus metadata keys the server reads):
 *
 *   <form data-tus-upload
 *         data-tus-endpoint="/api/evidence/uploads"          (optional; this is the default)
 *         data-tus-redirect="/evidence/items/{item}">        (optional; {item} = the new id)
 *     <input type="hidden" name="csrf_token" value="...">    ({{ csrf_field() }})
 *     <input type="hidden" name="caseUrn" value="61GD7528225">
 *     <input name="exhibitReference"> <textarea name="description"></textarea>
 *     <input name="seizedBy"> <input type="datetime-local" name="seizedAt">
 *     <input name="seizedFrom"> <input name="device"> <input name="method">
 *     <select name="retentionSchedule">...</select> <input name="sha256">   (optional fields)
 *     <input type="file" name="file">
 *     <progress data-tus-bar max="100" value="0" hidden></progress>
 *     <p data-tus-status aria-live="polite"></p>
 *     <button type="submit">Upload</button>
 *   </form>
 *
 * A datetime-local value (no offset) is read as the browser's local time and sent in UTC.
 * The file's name and type become the filename and mediaType metadata.
 */
(function () {
  "use strict";

  var CHUNK = 8 * 1024 * 1024;
  var MAX_RETRIES = 8;
  var FIELDS = [
    "caseUrn", "exhibitReference", "description", "seizedBy", "seizedAt", "seizedFrom",
    "device", "method", "retentionSchedule", "sha256"
  ];

  function base64(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary);
  }

  function metadataHeader(form, file) {
    var pairs = [];
    FIELDS.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field || !field.value) {
        return;
      }
      var value = field.value.trim();
      if (name === "seizedAt" && field.type === "datetime-local") {
        value = new Date(value).toISOString();
      }
      pairs.push(name + " " + base64(value));
    });
    pairs.push("filename " + base64(file.name));
    if (file.type) {
      pairs.push("mediaType " + base64(file.type));
    }
    return pairs.join(",");
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function Uploader(form) {
    this.form = form;
    this.endpoint = form.getAttribute("data-tus-endpoint") || "/api/evidence/uploads";
    this.status = form.querySelector("[data-tus-status]");
    this.bar = form.querySelector("[data-tus-bar]");
    var token = form.elements.namedItem("csrf_token");
    this.headers = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": token ? token.value : ""};
  }

  Uploader.prototype.say = function (text) {
    if (this.status) {
      this.status.textContent = text;
    }
  };

  Uploader.prototype.progress = function (offset, length) {
    var percent = Math.floor((offset / length) * 100);
    if (this.bar) {
      this.bar.hidden = false;
      this.bar.value = percent;
    }
    this.say("Uploaded " + percent + "% (" + offset.toLocaleString() + " of " +
      length.toLocaleString() + " bytes)");
  };

  Uploader.prototype.request = function (method, url, extra, body) {
    var headers = Object.assign({}, this.headers, extra || {});
    return fetch(url, {method: method, headers: headers, body: body, credentials: "same-origin"});
  };

  Uploader.prototype.refusal = async function (response) {
    try {
      var body = await response.json();
      return body.error || body.message || body.detail || response.statusText;
    } catch (ignored) {
      return response.status + " " + response.statusText;
    }
  };

  // A form marked data-tus-prepare="URL" (the case page's "Add an item") first posts its own
  // fields, without the file, to that URL: the server checks them as it checks the ordinary
  // post, and answers 201 {"location": upload URL} or 400 {"errors": {field id: message}}.
  Uploader.prototype.prepare = async function (file, url) {
    var data = new FormData(this.form);
    var input = this.form.querySelector("input[type=file]");
    if (input && input.name) {
      data.delete(input.name);
    }
    data.append("file-name", file.name);
    data.append("file-type", file.type || "");
    data.append("file-size", String(file.size));
    var response = await fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRF-Token": this.headers["X-CSRF-Token"]}
    });
    if (response.status === 201) {
      return (await response.json()).location;
    }
    var problems = [];
    try {
      var errors = (await response.json()).errors || {};
      Object.keys(errors).forEach(function (field) { problems.push(errors[field]); });
    } catch (ignored) {
      problems.push(response.status + " " + response.statusText);
    }
    throw new Error(problems.join("; ") || "the details were not accepted");
  };

  Uploader.prototype.create = async function (file) {
    var prepare = this.form.getAttribute("data-tus-prepare");
    if (prepare) {
      return this.prepare(file, prepare);
    }
    var response = await this.request("POST", this.endpoint, {
      "Upload-Length": String(file.size),
      "Upload-Metadata": metadataHeader(this.form, file)
    });
    if (response.status !== 201) {
      throw new Error(await this.refusal(response));
    }
    return response.headers.get("Location");
  };

  Uploader.prototype.offset = async function (url) {
    var response = await this.request("HEAD", url);
    if (!response.ok) {
      throw new Error("the upload can no longer be resumed (" + response.status + ")");
    }
    return Number(response.headers.get("Upload-Offset"));
  };

  // One PATCH; resolves with the response, or null when the network failed (retry).
  Uploader.prototype.patch = async function (url, file, offset) {
    try {
      return await this.request("PATCH", url, {
        "Upload-Offset": String(offset),
        "Content-Type": "application/offset+octet-stream"
      }, file.slice(offset, Math.min(offset + CHUNK, file.size)));
    } catch (networkError) {
      return null;
    }
  };

  Uploader.prototype.send = async function (url, file) {
    var offset = 0;
    var failures = 0;
    while (true) {
      var response = await this.patch(url, file, offset);
      if (response && response.status === 204) {
        failures = 0;
        offset = Number(response.headers.get("Upload-Offset"));
        this.progress(offset, file.size);
        var item = response.headers.get("OneStory-Item");
        if (item) {
          return item;
        }
        continue;
      }
      var retriable = !response || response.status >= 500 || response.status === 409 ||
        response.status === 423;
      if (!retriable) {
        throw new Error(await this.refusal(response));
      }
      failures += 1;
      if (failures > MAX_RETRIES) {
        throw new Error("the connection kept failing; reload the page to try again");
      }
      this.say("Connection lost at " + offset.toLocaleString() + " bytes; retrying…");
      await sleep(Math.min(1000 * Math.pow(2, failures - 1), 30000));
      try {
        offset = await this.offset(url);  // what really arrived, whatever the client thinks
      } catch (error) {
        if (error instanceof TypeError) {
          continue;  // still offline: try again after the next pause
        }
        throw error;
      }
    }
  };

  Uploader.prototype.run = async function (event) {
    var input = this.form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (!file) {
      return;  // let the form's own validation speak
    }
    event.preventDefault();
    var button = this.form.querySelector("[type=submit]");
    if (button) {
      button.disabled = true;
    }
    try {
      this.say("Starting the upload…");
      var url = await this.create(file);
      var item = await this.send(url, file);
      var id = item.split("/").pop();
      var target = this.form.getAttribute("data-tus-redirect");
      this.say("Upload complete: the file was received whole and its SHA-256 recorded.");
      if (target) {
        window.location.assign(target.replace("{item}", encodeURIComponent(id)));
      }
    } catch (error) {
      this.say("The upload failed: " + error.message);
    } finally {
      if (button) {
        button.disabled = false;
      }
    }
  };

  document.querySelectorAll("form[data-tus-upload]").forEach(function (form) {
    var uploader = new Uploader(form);
    form.addEventListener("submit", function (event) { uploader.run(event); });
  });
})();
