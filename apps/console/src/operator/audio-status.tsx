import { AudioView, audioLabel } from '../voice';

/** The browser audio's state, and Mute while a call is on (an operator's, or a supervisor's on a call they supervise). */
export function AudioStatus(props: { view: AudioView; onToggleMute: () => void; who?: 'operator' | 'supervisor' }) {
  const { view } = props;
  const inCall = view.state === 'on_call' || view.state === 'reconnecting';
  return (
    <div class="audio">
      <p class={`audio-status audio-${view.state}`} role="status">
        {audioLabel(view, props.who)}
      </p>
      {inCall && (
        <button type="button" class="button quiet" aria-pressed={view.muted} onClick={props.onToggleMute}>
          Mute
        </button>
      )}
    </div>
  );
}
