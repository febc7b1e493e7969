export function ErrorBanner({ message, onClose }: { message: string; onClose: () => void }) {
  return (
    <div className="error-banner" role="alert" data-testid="error-banner">
      <span>{message}</span>
      <button className="link" onClick={onClose} aria-label="Dismiss">
        Dismiss
      </button>
    </div>
  );
}
